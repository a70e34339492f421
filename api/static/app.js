// The chat page. Everything that comes from a document is inserted as text nodes,
// never as HTML, so an article can't run script in the page.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    // The page runs under a strict Content-Security-Policy: inline handlers and style
    // attributes would be refused there, so they are refused here already.
    else if (k === "style" || k.toLowerCase().startsWith("on")) throw new Error(`el(): ${k} is not allowed`);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function errorMessage(res) {
  try {
    const body = await res.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
  } catch (_) { /* not JSON */ }
  return `the server answered ${res.status}`;
}

function setStatus(node, text, loading = false) {
  node.textContent = text;
  node.classList.toggle("loading", loading);
}

// Text of `full` between [start, end) highlighted, the rest plain.
function highlighted(full, start, end) {
  const frag = document.createDocumentFragment();
  frag.append(document.createTextNode(full.slice(0, start)));
  frag.append(el("mark", { text: full.slice(start, end) }));
  frag.append(document.createTextNode(full.slice(end)));
  return frag;
}

// The words around the answer that the server chose (the same the CLI prints); "…" marks
// passage text left out.
function excerpt(c) {
  const passage = c.passage;
  const from = c.excerpt_start - c.passage_start, to = c.excerpt_end - c.passage_start;
  const start = c.answer_start - c.passage_start, end = c.answer_end - c.passage_start;
  const frag = document.createDocumentFragment();
  if (from > 0) frag.append(document.createTextNode("… "));
  frag.append(highlighted(passage.slice(from, to), start - from, end - from));
  if (to < passage.length) frag.append(document.createTextNode(" …"));
  return frag;
}

// A stored date ("2023", "2023-08", "2023-08-30" or "2023-08-30T09:30:00+00:00") as the reader's
// locale writes it, one way everywhere on the page: the publication day as the article gives it
// (no time of day, no shift into the reader's time zone).
function shownDate(d) {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(d || "");
  if (!m) return d || "";
  const [, y, mo, day] = m;
  const opts = { timeZone: "UTC", year: "numeric" };
  if (mo) opts.month = "short";
  if (day) opts.day = "numeric";
  return new Date(Date.UTC(+y, mo ? +mo - 1 : 0, day ? +day : 1)).toLocaleDateString(undefined, opts);
}

// The date as a <time> element: shown in the reader's locale, the day itself in `datetime`.
function dateNode(d) {
  const m = /^\d{4}(?:-\d{2}(?:-\d{2})?)?/.exec(d || "");
  return m ? el("time", { datetime: m[0] }, shownDate(d)) : document.createTextNode(d || "");
}

// Parts joined with " · "; nodes (dates) and strings alike, empty ones left out.
function joined(...parts) {
  const frag = document.createDocumentFragment();
  parts.filter((p) => p !== null && p !== undefined && p !== "").forEach((p, i) => {
    if (i) frag.append(" · ");
    frag.append(p instanceof Node ? p : document.createTextNode(String(p)));
  });
  return frag;
}

function citationNode(c, i) {
  const open = el("button", { class: "link", type: "button", "aria-label": `Open the article “${c.title}” at the answer` }, "Open the article at this spot");
  open.addEventListener("click", () => openArticle(c.doc_id, c.answer_start, c.answer_end, open));
  const passage = el("p", { class: "passage" });
  passage.append(excerpt(c));
  return el("li", { class: "citation", "data-doc-id": c.doc_id },
    el("h3", {}, `${i + 1}. ${c.title}`),
    el("p", { class: "meta" }, joined(c.source, c.published ? dateNode(c.published) : "", `score ${c.score.toFixed(2)}`)),
    passage, open);
}

// Copies of one story (the same copy group) are one source: "found in 1 source (and 3 copies)".
function foundIn(articles, sources) {
  if (!sources || sources >= articles) return `found in ${articles} article${articles === 1 ? "" : "s"}`;
  const copies = articles - sources;
  return `found in ${sources} source${sources === 1 ? "" : "s"} (and ${copies} cop${copies === 1 ? "y" : "ies"})`;
}

// Citations folded by copy group, in order: the first article's citations, then one per copy.
function bySource(citations) {
  const groups = new Map();
  for (const c of citations) {
    const key = c.group || c.doc_id;
    if (!groups.has(key)) groups.set(key, { first: [], copies: [] });
    const g = groups.get(key);
    if (!g.first.length || c.doc_id === g.first[0].doc_id) g.first.push(c);
    else if (!g.copies.some((k) => k.doc_id === c.doc_id)) g.copies.push(c);
  }
  return [...groups.values()];
}

function copiesNode(copies) {
  const items = el("ul", { class: "copies", "aria-label": "Copies of this story" });
  for (const c of copies) {
    const open = el("button", { class: "link", type: "button", "aria-label": `Open the copy “${c.title}” at the answer` }, `${c.title}`);
    open.addEventListener("click", () => openArticle(c.doc_id, c.answer_start, c.answer_end, open));
    items.append(el("li", { class: "copy", "data-doc-id": c.doc_id }, "copy: ", open, c.published ? " · " : "", c.published ? dateNode(c.published) : "", ` · ${c.source}`));
  }
  return items;
}

// The newest date among an answer's citations (YYYY-MM-DD), or null when none is dated.
function answerDate(a) {
  const dates = a.citations.map((c) => c.published).filter(Boolean).map((d) => d.slice(0, 10)).sort();
  return dates.length ? dates[dates.length - 1] : null;
}

// For a question about the latest state: the dated answers, oldest to newest, the current one
// last and marked. Undated earlier answers stay in the list below, not on a time axis.
function timeline(data) {
  const points = data.alternatives.map((a) => ({ answer: a.answer, date: answerDate(a), current: false }))
    .filter((p) => p.date)
    .concat([{ answer: data.answer, date: answerDate(data), current: true }])
    .sort((a, b) => (a.current - b.current) || (a.date || "").localeCompare(b.date || ""));
  const list = el("ol", { class: "timeline", "aria-label": "Answers over time, oldest first" });
  for (const p of points) {
    const attrs = { class: p.current ? "point current" : "point" };
    if (p.current) attrs["aria-current"] = "true";
    const when = p.date ? dateNode(p.date) : el("span", { class: "undated" }, "undated");
    list.append(el("li", attrs, when, el("span", { class: "said" }, p.answer), p.current ? el("span", { class: "now" }, "most recent") : ""));
  }
  return list;
}

function renderAnswer(turn, data) {
  if (data.answer === null) {
    turn.append(el("p", { class: "not-found", "data-state": "not-found" }, "Not found in these articles."));
    turn.append(el("p", { class: "confidence" },
      `No passage answers this with enough confidence (best ${data.score.toFixed(2)}, threshold ${data.threshold.toFixed(2)}).`));
    return;
  }
  turn.append(el("p", { class: "answer", "data-state": "answer" }, data.answer));
  const recent = data.most_recent ? " · the most recent articles' answer" : "";
  turn.append(el("p", { class: "confidence" },
    `Confidence ${Math.round(100 * data.score)}% · ${foundIn(data.articles, data.sources)}${recent}`));
  const list = el("ol", { class: "citations", "aria-label": "Sources" });
  bySource(data.citations).forEach(({ first, copies }, i) => {
    first.forEach((c) => list.append(citationNode(c, i)));
    if (copies.length) list.lastChild.append(copiesNode(copies));
  });
  turn.append(list);
  if (data.most_recent) turn.append(timeline(data));
  if (data.alternatives && data.alternatives.length) {
    // For a question about the latest state the server put the newest answer first: the
    // others are what earlier articles said, each with its date.
    const heading = data.most_recent ? "Earlier articles said" : "Other articles say otherwise";
    const box = el("div", { class: "alternatives" }, el("h3", {}, heading));
    const alts = el("ul", { class: "citations" });
    for (const a of data.alternatives) {
      const newest = answerDate(a);
      const item = el("li", { class: "alternative" }, el("p", { class: "q" },
        `${a.answer} (`, newest ? dateNode(newest) : "", newest ? " · " : "", `confidence ${Math.round(100 * a.score)}%)`));
      const cl = el("ol", { class: "citations" });
      a.citations.forEach((c, i) => cl.append(citationNode(c, i)));
      item.append(cl);
      alts.append(item);
    }
    box.append(alts);
    turn.append(box);
  }
}

// The conversation so far, sent with each question so a follow-up ("When did he arrive?") is
// answered with the turn it leans on; the server says which in `follows`.
const HISTORY_TURNS = 5;
const conversationHistory = [];

function followsNode(data, sent) {
  const earlier = sent[data.follows];
  return el("p", { class: "follows meta" }, `Following up on: “${earlier ? earlier.question : "an earlier question"}”`);
}

async function ask(event) {
  event.preventDefault();
  const input = $("question");
  const question = input.value.trim();
  if (!question) { setStatus($("status"), "Type a question first."); input.focus(); return; }
  const button = $("ask-button");
  button.disabled = true;
  setStatus($("status"), "Searching the articles…", true);
  const turn = el("li", { class: "turn", "aria-busy": "true" }, el("p", { class: "q" }, question));
  $("conversation").append(turn);
  const body = { question, history: conversationHistory.slice(-HISTORY_TURNS) };
  if ($("as-of").value) body.as_of = $("as-of").value;  // a date input's value is YYYY-MM-DD
  try {
    const res = await fetch("/ask", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) {
      turn.append(el("p", { class: "error", role: "alert" }, `Could not answer: ${await errorMessage(res)}`));
    } else {
      const data = await res.json();
      if (data.follows !== null && data.follows !== undefined) turn.append(followsNode(data, body.history));
      renderAnswer(turn, data);
      conversationHistory.push({ question, answer: data.answer && data.answer.slice(0, 1000) });  // the server's limit on an earlier answer
      input.value = "";
    }
    setStatus($("status"), "");
  } catch (err) {
    turn.append(el("p", { class: "error", role: "alert" }, "The server can't be reached. Is it running?"));
    setStatus($("status"), "");
  } finally {
    turn.removeAttribute("aria-busy");
    button.disabled = false;
    // The conversation scrolls on its own: the new turn's start comes into view above the question box.
    turn.scrollIntoView({ block: turn.offsetHeight > $("conversation-scroll").clientHeight ? "start" : "end" });
    input.focus();
  }
}

let lastFocus = null;
async function openArticle(docId, start, end, opener) {
  lastFocus = opener || document.activeElement;
  const res = await fetch(`/documents/${encodeURIComponent(docId)}`).catch(() => null);
  if (!res || !res.ok) {
    setStatus($("status"), res ? `Could not open the article: ${await errorMessage(res)}` : "The server can't be reached.");
    return;
  }
  const doc = await res.json();
  $("viewer-title").textContent = doc.title;
  $("viewer-meta").replaceChildren(joined(doc.source, doc.published ? dateNode(doc.published) : ""));
  const text = $("viewer-text");
  // From a citation: the cited words highlighted and scrolled to; from the list: the top.
  text.replaceChildren(end > start ? highlighted(doc.text, start, end) : document.createTextNode(doc.text));
  showViewer();
  const mark = text.querySelector("mark");
  if (mark) mark.scrollIntoView({ block: "center" });
  else $("viewer").querySelector(".viewer-inner").scrollTop = 0;
  $("viewer-close").focus();
}

// While the dialog is open the rest of the page is inert: no clicks, no focus, and
// screen readers don't read it, so aria-modal is true in fact and not only in name.
function setBackgroundInert(on) {
  for (const node of document.body.children) if (node !== $("viewer") && node.tagName !== "SCRIPT") node.inert = on;
}

function showViewer() {
  setBackgroundInert(true);
  $("viewer").hidden = false;
}

function closeViewer() {
  if ($("viewer").hidden) return;
  setBackgroundInert(false);
  $("viewer").hidden = true;
  if (lastFocus && lastFocus.isConnected) lastFocus.focus();
  lastFocus = null;
}

// What Tab moves between inside the dialog, in order: visible, enabled, not tabindex=-1.
function viewerTabStops() {
  const sel = "button, [href], input, select, textarea, [tabindex]";
  return [...$("viewer").querySelectorAll(sel)].filter((n) =>
    !n.disabled && n.tabIndex >= 0 && n.getClientRects().length > 0);
}

// Tab and Shift+Tab cycle through the dialog's own stops. We move focus ourselves on
// every Tab rather than only at the ends, so a stop the browser adds on its own (such as
// a scrollable box) can never become a way out.
function trapTab(e) {
  const stops = viewerTabStops();
  if (!stops.length) return;
  e.preventDefault();
  const at = stops.indexOf(document.activeElement);
  const step = e.shiftKey ? -1 : 1;
  const next = at === -1 ? (e.shiftKey ? stops.length - 1 : 0) : (at + step + stops.length) % stops.length;
  stops[next].focus();
}

function onViewerKey(e) {
  if ($("viewer").hidden) {
    if (e.key === "Escape" && document.body.classList.contains("docs-open")) $("hide-docs").click();
    return;
  }
  if (e.key === "Escape") { e.preventDefault(); closeViewer(); }
  else if (e.key === "Tab") trapTab(e);
}

// Focus that lands outside the open dialog anyway (the window regaining focus, a click
// on the backdrop) goes back to its first stop.
function keepFocusInViewer(e) {
  if ($("viewer").hidden || $("viewer").contains(e.target)) return;
  const stops = viewerTabStops();
  if (stops.length) stops[0].focus();
}

// -- the article list: one page at a time, searched and sorted by the server --------------
const PAGE_SIZE = 50;
const listing = { offset: 0, total: 0, archive: null, seq: 0 };

function listQuery() {
  const params = new URLSearchParams();
  const q = $("doc-q").value.trim(), source = $("doc-source").value.trim();
  if (q) params.set("q", q);
  if (source) params.set("source", source);
  if ($("doc-from").value) params.set("published_from", $("doc-from").value);
  if ($("doc-to").value) params.set("published_to", $("doc-to").value);
  params.set("sort", $("doc-sort").value);
  return params;
}

const count = (n) => `${n.toLocaleString()} article${n === 1 ? "" : "s"}`;

async function fetchPage(params) {
  const res = await fetch(`/documents?${params}`, { cache: "no-store" });
  if (!res.ok) throw new Error(await errorMessage(res));
  return { docs: await res.json(), total: Number(res.headers.get("X-Total-Count") || 0) };
}

function docItem(d) {
  const open = el("a", { class: "title", href: `/documents/${encodeURIComponent(d.doc_id)}` }, d.title);
  open.addEventListener("click", (e) => { e.preventDefault(); openArticle(d.doc_id, 0, 0, open); });
  const del = el("button", { class: "danger", type: "button", "aria-label": `Delete “${d.title}”` }, "Delete");
  del.addEventListener("click", () => deleteDocument(d.doc_id, d.title));
  return el("li", { "data-doc-id": d.doc_id },
    el("div", {}, open, el("div", { class: "meta" }, joined(d.published ? dateNode(d.published) : "", d.source))),
    del);
}

// One page of the articles that match the search (`offset` into them); never the whole archive.
async function loadDocuments(offset = listing.offset) {
  const seq = ++listing.seq;  // a slower answer to an older search must not overwrite a newer one
  const params = listQuery();
  const filtered = params.has("q") || params.has("source") || params.has("published_from") || params.has("published_to");
  params.set("limit", PAGE_SIZE);
  params.set("offset", offset);
  try {
    const [page, archive] = await Promise.all([fetchPage(params), filtered ? fetchPage(new URLSearchParams({ limit: 1 })) : null]);
    if (seq !== listing.seq) return;
    if (page.docs.length === 0 && offset > 0 && page.total > 0) { loadDocuments(Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE)); return; }
    listing.offset = offset;
    listing.total = page.total;
    listing.archive = archive ? archive.total : page.total;
    $("doc-count").textContent = filtered ? `${page.total.toLocaleString()} of ${count(listing.archive)}` : count(page.total);
    const list = $("doc-list");
    list.replaceChildren(...page.docs.map(docItem));
    if (!page.docs.length) list.append(el("li", { class: "empty" }, filtered ? "No article matches." : "No articles yet."));
    const last = Math.min(offset + page.docs.length, page.total);
    $("page-info").textContent = page.total > PAGE_SIZE ? `${(offset + 1).toLocaleString()}–${last.toLocaleString()} of ${page.total.toLocaleString()}` : "";
    $("prev-page").disabled = offset === 0;
    $("next-page").disabled = last >= page.total;
    $("documents").scrollTop = 0;
  } catch (err) {
    if (seq === listing.seq) setStatus($("doc-status"), `Could not list the articles: ${err.message || "server unreachable"}`);
  }
}

// The bundled sample articles, while the index holds them: say so, and offer to remove them.
async function loadSamples() {
  const res = await fetch("/samples", { cache: "no-store" }).catch(() => null);
  if (!res || !res.ok) return;
  const held = (await res.json()).doc_ids;
  $("samples-note").hidden = held.length === 0;
  $("samples-text").textContent = held.length
    ? `${held.length === 5 ? "The five" : held.length} bundled sample article${held.length === 1 ? " is" : "s are"} still in the index. Remove them once your own articles are in.`
    : "";
}

async function removeSamples() {
  if (!window.confirm("Remove the bundled sample articles from the index?")) return;
  const res = await fetch("/samples", { method: "DELETE", headers: authHeaders() }).catch(() => null);
  if (!res) { setStatus($("doc-status"), "The server can't be reached."); return; }
  if (!res.ok) { setStatus($("doc-status"), `Not removed: ${await errorMessage(res)}`); return; }
  const removed = (await res.json()).doc_ids;
  setStatus($("doc-status"), `Removed ${removed.length} sample article${removed.length === 1 ? "" : "s"}.`);
  await Promise.all([loadDocuments(0), loadSamples()]);
}

// -- waiting for the service ------------------------------------------------------------
// The server answers at once but loads its models and index in the background; until
// /health says "ok" a question would only get a 503, so the question box waits with it.
const HEALTH_POLL_MS = 1000;

function setAskEnabled(on) {
  $("question").disabled = !on;
  $("ask-button").disabled = !on;
}

async function fetchHealth() {
  try {
    const res = await fetch("/health", { cache: "no-store" });
    if (!res.ok) return { status: "loading" };  // a proxy or a restarting worker: try again
    return await res.json();
  } catch (_) {
    return { status: "unreachable" };
  }
}

function onReady() {
  setAskEnabled(true);
  setStatus($("status"), "");
  loadDocuments(0);  // the list may have been empty or partial while the index was built
  loadSamples();
  // Only take focus if the user hasn't put it anywhere yet.
  if (document.activeElement === document.body || document.activeElement === null) $("question").focus();
}

async function waitUntilReady() {
  const h = await fetchHealth();
  if (h.status === "ok") { onReady(); return; }
  if (h.status === "error") {
    // Startup failed for good; polling on would not change it.
    const why = h.error || h.detail;
    setStatus($("status"), `The service could not start${typeof why === "string" && why ? `: ${why}` : "; see the server log."}`);
    return;
  }
  setAskEnabled(false);
  setStatus($("status"), h.status === "unreachable"
    ? "The server can't be reached; trying again…"
    : "Starting: loading the models and the index…", true);
  setTimeout(waitUntilReady, HEALTH_POLL_MS);
}

// What was added, named by its title with a link that opens it.
async function addedNode(verb, ids) {
  const frag = document.createDocumentFragment();
  frag.append(`${verb}: `);
  const shown = ids.slice(0, 5);
  const docs = await Promise.all(shown.map((id) =>
    fetch(`/documents/${encodeURIComponent(id)}`).then((r) => (r.ok ? r.json() : { doc_id: id, title: id })).catch(() => ({ doc_id: id, title: id }))));
  docs.forEach((d, i) => {
    if (i) frag.append(", ");
    const link = el("a", { href: `/documents/${encodeURIComponent(d.doc_id)}`, class: "added", "data-doc-id": d.doc_id }, d.title);
    link.addEventListener("click", (e) => { e.preventDefault(); openArticle(d.doc_id, 0, 0, link); });
    frag.append(link);
  });
  if (ids.length > shown.length) frag.append(` and ${ids.length - shown.length} more`);
  return frag;
}

async function sendDocument(path, body, headers) {
  setStatus($("doc-status"), "Adding…", true);
  try {
    const res = await fetch(path, { method: "POST", headers: { ...headers, ...authHeaders() }, body });
    if (!res.ok) { setStatus($("doc-status"), `Not added: ${await errorMessage(res)}`); return false; }
    const out = await res.json();
    const ids = [...out.added, ...out.updated, ...out.unchanged];
    const what = out.added.length ? "Added" : out.updated.length ? "Updated" : "Already indexed, unchanged";
    const skipped = (out.failed || []).map((f) => f.reason).join("; ");
    const status = $("doc-status");
    setStatus(status, "");
    if (ids.length) status.append(await addedNode(what, ids));
    if (skipped) status.append(`${ids.length ? " " : ""}(not stored: ${skipped})`);
    await Promise.all([loadDocuments(), loadSamples()]);
    return out;
  } catch (err) {
    setStatus($("doc-status"), "The server can't be reached.");
    return false;
  }
}

async function deleteDocument(docId, title) {
  if (!window.confirm(`Delete “${title}” from the index?`)) return;
  const res = await fetch(`/documents/${encodeURIComponent(docId)}`, { method: "DELETE", headers: authHeaders() }).catch(() => null);
  if (!res) { setStatus($("doc-status"), "The server can't be reached."); return; }
  setStatus($("doc-status"), res.ok ? `Deleted: ${title}` : `Not deleted: ${await errorMessage(res)}`);
  await Promise.all([loadDocuments(), loadSamples()]);
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", ask);
  $("paste-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { title: $("doc-title").value, text: $("doc-text").value };
    if ($("doc-published").value) body.published = $("doc-published").value;
    if (await sendDocument("/documents", JSON.stringify(body), { "Content-Type": "application/json" })) e.target.reset();
  });
  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("doc-file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    const out = await sendDocument("/documents/upload", form, {});
    if (!out) return;
    e.target.reset();
    // A different article already had this file's id: the upload was kept apart under an id of
    // its own. Replacing the other one is the user's call, never the default.
    const renamed = out.renamed || [];
    if (renamed.length && window.confirm(
      `Another article is already stored as “${renamed[0].taken}”. Replace it with “${file.name}”?\n\n` +
      `Cancel keeps both (this file is stored as “${renamed[0].doc_id}”).`)) {
      const again = new FormData();
      again.append("file", file);
      again.append("replace", "true");
      if (await sendDocument("/documents/upload", again, {})) {
        for (const r of renamed) {
          await fetch(`/documents/${encodeURIComponent(r.doc_id)}`, { method: "DELETE", headers: authHeaders() }).catch(() => null);
        }
        await loadDocuments();
      }
    }
  });
  $("url-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = JSON.stringify({ url: $("doc-url").value.trim() });
    if (await sendDocument("/documents/fetch", body, { "Content-Type": "application/json" })) e.target.reset();
  });
  // The list: searched as the reader types (after a pause), a page at a time.
  let typing = null;
  const search = () => { clearTimeout(typing); typing = setTimeout(() => loadDocuments(0), 250); };
  $("doc-search").addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(typing); loadDocuments(0); });
  $("doc-search").addEventListener("input", search);
  $("doc-search").addEventListener("change", search);
  $("prev-page").addEventListener("click", () => loadDocuments(Math.max(0, listing.offset - PAGE_SIZE)));
  $("next-page").addEventListener("click", () => loadDocuments(listing.offset + PAGE_SIZE));
  $("remove-samples").addEventListener("click", removeSamples);
  // Narrow screens: the articles open as a sheet over the conversation.
  const panel = (open) => {
    document.body.classList.toggle("docs-open", open);
    $("show-docs").setAttribute("aria-expanded", String(open));
    (open ? $("doc-q") : $("show-docs")).focus();
  };
  $("show-docs").addEventListener("click", () => panel(true));
  $("hide-docs").addEventListener("click", () => panel(false));
  $("viewer-close").addEventListener("click", closeViewer);
  $("viewer").addEventListener("click", (e) => { if (e.target === $("viewer")) closeViewer(); });
  document.addEventListener("keydown", onViewerKey);
  document.addEventListener("focusin", keepFocusInViewer);
  // The question box starts disabled (see index.html) and opens once the service is ready.
  waitUntilReady();
});
