// The chat page. Everything that comes from a document is inserted as text nodes,
// never as HTML, so an article can't run script in the page.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
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

// The part of a passage around the answer, cut at spaces, so a source reads at a glance.
const CONTEXT_CHARS = 220;
function excerpt(passage, start, end) {
  let from = Math.max(0, start - CONTEXT_CHARS);
  let to = Math.min(passage.length, end + CONTEXT_CHARS);
  if (from > 0) { const sp = passage.indexOf(" ", from); if (sp !== -1 && sp < start) from = sp + 1; }
  if (to < passage.length) { const sp = passage.lastIndexOf(" ", to); if (sp > end) to = sp; }
  const frag = document.createDocumentFragment();
  if (from > 0) frag.append(document.createTextNode("… "));
  frag.append(highlighted(passage.slice(from, to), start - from, end - from));
  if (to < passage.length) frag.append(document.createTextNode(" …"));
  return frag;
}

function citationNode(c, i) {
  const date = c.published ? ` · ${c.published}` : "";
  const open = el("button", { class: "link", type: "button", "aria-label": `Open the article “${c.title}” at the answer` }, "Open the article at this spot");
  open.addEventListener("click", () => openArticle(c.doc_id, c.answer_start, c.answer_end, open));
  const passage = el("p", { class: "passage" });
  passage.append(excerpt(c.passage, c.answer_start - c.passage_start, c.answer_end - c.passage_start));
  return el("li", { class: "citation", "data-doc-id": c.doc_id },
    el("h3", {}, `${i + 1}. ${c.title}`),
    el("p", { class: "meta" }, `${c.source}${date} · score ${c.score.toFixed(2)}`),
    passage, open);
}

function renderAnswer(turn, data) {
  if (data.answer === null) {
    turn.append(el("p", { class: "not-found", "data-state": "not-found" }, "Not found in these articles."));
    turn.append(el("p", { class: "confidence" },
      `No passage answers this with enough confidence (best ${data.score.toFixed(2)}, threshold ${data.threshold.toFixed(2)}).`));
    return;
  }
  const n = data.articles;
  turn.append(el("p", { class: "answer", "data-state": "answer" }, data.answer));
  turn.append(el("p", { class: "confidence" },
    `Confidence ${Math.round(100 * data.score)}% · found in ${n} article${n === 1 ? "" : "s"}`));
  const list = el("ol", { class: "citations", "aria-label": "Sources" });
  data.citations.forEach((c, i) => list.append(citationNode(c, i)));
  turn.append(list);
  if (data.alternatives && data.alternatives.length) {
    const box = el("div", { class: "alternatives" }, el("h3", {}, "Other articles say otherwise"));
    const alts = el("ul", { class: "citations" });
    for (const a of data.alternatives) {
      const item = el("li", { class: "alternative" }, el("p", { class: "q" }, `${a.answer} (confidence ${Math.round(100 * a.score)}%)`));
      const cl = el("ol", { class: "citations" });
      a.citations.forEach((c, i) => cl.append(citationNode(c, i)));
      item.append(cl);
      alts.append(item);
    }
    box.append(alts);
    turn.append(box);
  }
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
  try {
    const res = await fetch("/ask", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ question }) });
    if (!res.ok) {
      turn.append(el("p", { class: "error", role: "alert" }, `Could not answer: ${await errorMessage(res)}`));
    } else {
      renderAnswer(turn, await res.json());
      input.value = "";
    }
    setStatus($("status"), "");
  } catch (err) {
    turn.append(el("p", { class: "error", role: "alert" }, "The server can't be reached. Is it running?"));
    setStatus($("status"), "");
  } finally {
    turn.removeAttribute("aria-busy");
    button.disabled = false;
    turn.scrollIntoView({ block: "nearest" });
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
  $("viewer-meta").textContent = [doc.source, doc.published].filter(Boolean).join(" · ");
  const text = $("viewer-text");
  text.replaceChildren(highlighted(doc.text, start, end));
  $("viewer").hidden = false;
  const mark = text.querySelector("mark");
  if (mark) mark.scrollIntoView({ block: "center" });
  $("viewer-close").focus();
}

function closeViewer() {
  $("viewer").hidden = true;
  if (lastFocus) lastFocus.focus();
}

async function loadDocuments() {
  const list = $("doc-list");
  try {
    const res = await fetch("/documents");
    if (!res.ok) throw new Error(await errorMessage(res));
    const docs = await res.json();
    list.replaceChildren();
    $("doc-count").textContent = `(${docs.length})`;
    for (const d of docs) {
      const del = el("button", { class: "danger", type: "button", "aria-label": `Delete “${d.title}”` }, "Delete");
      del.addEventListener("click", () => deleteDocument(d.doc_id, d.title));
      list.append(el("li", { "data-doc-id": d.doc_id },
        el("div", {}, el("div", { class: "title" }, d.title), el("div", { class: "meta" }, [d.published, d.source].filter(Boolean).join(" · "))),
        del));
    }
  } catch (err) {
    setStatus($("doc-status"), `Could not list the articles: ${err.message || "server unreachable"}`);
  }
}

async function sendDocument(body, headers) {
  setStatus($("doc-status"), "Adding…", true);
  try {
    const res = await fetch("/documents", { method: "POST", headers: { ...headers, ...authHeaders() }, body });
    if (!res.ok) { setStatus($("doc-status"), `Not added: ${await errorMessage(res)}`); return false; }
    const out = await res.json();
    const what = out.added.length ? "Added" : out.updated.length ? "Updated" : "Already indexed, unchanged";
    setStatus($("doc-status"), `${what}: ${[...out.added, ...out.updated, ...out.unchanged].join(", ")}`);
    await loadDocuments();
    return true;
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
  await loadDocuments();
}

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", ask);
  $("paste-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { title: $("doc-title").value, text: $("doc-text").value };
    if ($("doc-published").value) body.published = $("doc-published").value;
    if (await sendDocument(JSON.stringify(body), { "Content-Type": "application/json" })) e.target.reset();
  });
  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("doc-file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    if (await sendDocument(form, {})) e.target.reset();
  });
  $("viewer-close").addEventListener("click", closeViewer);
  $("viewer").addEventListener("click", (e) => { if (e.target === $("viewer")) closeViewer(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("viewer").hidden) closeViewer(); });
  loadDocuments();
  $("question").focus();
});
