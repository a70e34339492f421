"""Training: batching and collation helpers, and a tiny real run that is stopped and resumed."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from training.config import TrainConfig
from training.data import Example
from training.features import batches_for_epoch, collate, featurize

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- batching and collation


def test_batches_are_a_pure_function_of_the_seed_and_grouped_by_length() -> None:
    lengths = np.random.default_rng(0).integers(20, 256, size=600)
    a = batches_for_epoch(lengths, 4, seed=21)
    b = batches_for_epoch(lengths.copy(), 4, seed=21)
    assert [x.tolist() for x in a] == [x.tolist() for x in b]
    assert [x.tolist() for x in a] != [x.tolist() for x in batches_for_epoch(lengths, 4, seed=22)]
    # every window once per epoch
    assert sorted(np.concatenate(a).tolist()) == list(range(600))
    # sorted within mega-batches (4 * 64 windows), so each batch is in increasing length, and
    # batches are much tighter than random ones
    assert all(np.all(np.diff(lengths[x]) >= 0) for x in a)
    assert sum(len(x) != 4 for x in a) <= 3  # only a mega-batch's last batch can be short
    spread = np.mean([np.ptp(lengths[x]) for x in a])
    random_spread = np.mean([np.ptp(lengths[i : i + 4]) for i in range(0, 600, 4)])
    assert spread < random_spread / 5


def test_collate_right_pads_to_the_longest_window() -> None:
    feats = [
        {"input_ids": [101, 5, 6, 102], "token_type_ids": [0, 0, 0, 1], "start": 2, "end": 3},
        {"input_ids": [101, 9, 102], "token_type_ids": [0, 0, 1], "start": 0, "end": 0},
        {"input_ids": [101, 7, 8, 9, 10, 102], "token_type_ids": [0, 0, 1, 1, 1, 1], "start": 3, "end": 4},
    ]
    from transformers import AutoTokenizer

    from qa.read import PACKAGED_READER

    tokenizer = AutoTokenizer.from_pretrained(PACKAGED_READER)
    pad = tokenizer.pad_token_id
    batch = collate(feats, np.array([1, 2, 0]), tokenizer)
    assert batch["input_ids"].tolist() == [
        [101, 9, 102, pad, pad, pad],
        [101, 7, 8, 9, 10, 102],
        [101, 5, 6, 102, pad, pad],
    ]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0, 0], [1] * 6, [1, 1, 1, 1, 0, 0]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 0, 0]]
    assert batch["start_positions"].tolist() == [0, 3, 2]
    assert batch["end_positions"].tolist() == [0, 4, 3]
    assert {t.dtype for t in batch.values()} == {torch.long}


# ---------------------------------------------------------------- windows shared with the reader


def test_training_reads_the_windows_the_reader_reads() -> None:
    """A long question against a long passage: training's windows (`featurize`, transformers'
    tokenizer of the base model) are the serving reader's (`Reader.windows`, `tokenizers`),
    token for token, and an answer's target tokens cover exactly its characters."""
    from transformers import AutoTokenizer

    from index.embed import model_path
    from qa.read import Reader

    reader = Reader()
    reader.warm_up()
    tokenizer = AutoTokenizer.from_pretrained(model_path())
    passage = " ".join(s for sentences, _ in PARAGRAPHS for s in sentences) * 2
    question = "Who, in " + "very " * 90 + "many words, was the chief engineer of the bridge?"
    answer = "Margit Osterholm"
    examples = [
        Example(question, passage, -1, "", "answerless"),  # every window kept
        Example(question, passage, passage.index(answer), answer, "answer"),
    ]
    feats = featurize(tokenizer, examples, TrainConfig(), random.Random(0))
    owners, encodings, feeds = reader.windows(question, [passage])
    assert len(encodings) >= 3 and reader.count_tokens([question])[0] > reader.max_question_tokens
    trained = [f for f in feats if f["source"] == "answerless"]
    assert [f["input_ids"] for f in trained] == [e.ids for e in encodings]
    assert [f["token_type_ids"] for f in trained] == [e.type_ids for e in encodings]
    target = next(f for f in feats if f["source"] == "answer" and f["start"] > 0)
    w = next(w for w, e in enumerate(encodings) if e.ids == target["input_ids"])
    offsets = encodings[w].offsets
    assert passage[offsets[target["start"]][0] : offsets[target["end"]][1]] == answer


# ---------------------------------------------------------------- a tiny real run

# (sentences, [(question, answer)]): each answer occurs once in its paragraph.
PARAGRAPHS = [
    (
        ["The Larkspur Bridge opened to traffic in 1931 after four years of work.",
         "It spans the Dunmore River between the towns of Avely and Crane.",
         "The chief engineer was Margit Osterholm, who later designed two dams.",
         "A toll of five cents was charged until the bonds were repaid in 1952."],
        [("When did the Larkspur Bridge open?", "1931"), ("Who was the chief engineer of the bridge?", "Margit Osterholm")],
    ),
    (
        ["The Velmont orchard grows eleven varieties of pear on a south-facing slope.",
         "Its oldest trees were planted by the Ruiz family in the autumn of 1888.",
         "Harvest begins in late August and is celebrated with a lantern fair.",
         "Most of the fruit is pressed into a cloudy cider sold at the gate."],
        [("How many varieties of pear does the orchard grow?", "eleven"), ("Who planted the oldest trees?", "the Ruiz family")],
    ),
    (
        ["My blender arrived with a cracked lid, which was annoying at first.",
         "Customer support shipped a replacement within three days at no cost.",
         "The motor is loud but it crushes ice in about ten seconds flat.",
         "After a month of smoothies every morning it still works perfectly."],
        [("How fast does it crush ice?", "about ten seconds"), ("What was wrong when it arrived?", "a cracked lid")],
    ),
    (
        ["I moved to Brenford last spring for a job at the harbour office.",
         "Rent is cheaper than in the capital but the buses stop at nine.",
         "The best thing here is the Saturday fish market by the old pier.",
         "Winters are grey and windy, so bring a proper waterproof coat."],
        [("When do the buses stop?", "at nine"), ("What is the best thing in Brenford?", "the Saturday fish market")],
    ),
    (
        ["These hiking boots are waterproof and kept my feet dry in deep snow.",
         "The laces frayed after two weeks, so I replaced them with leather ones.",
         "Sizing runs small, and I had to order half a size larger than usual.",
         "Overall they are comfortable on long trails over rocky ground."],
        [("How does the sizing run?", "small"), ("What happened to the laces?", "The laces frayed after two weeks")],
    ),
    (
        ["The Quillon telescope sits on a ridge two thousand metres above the sea.",
         "Its main mirror is four metres across and was cast in Jena in 1978.",
         "Astronomers there discovered the comet Halvard-Pyne in March 1994.",
         "Visitors may tour the dome on the first Sunday of every month."],
        [("How wide is the main mirror?", "four metres"), ("Which comet was discovered there?", "Halvard-Pyne")],
    ),
    (
        ["Patients in the trial received the inhaled drug twice a day for a week.",
         "Viral load fell by half in the treated group compared with placebo.",
         "The most common side effect reported was a mild and passing headache.",
         "The authors call for a larger study before any clinical use."],
        [("How often did patients receive the drug?", "twice a day"), ("What was the most common side effect?", "a mild and passing headache")],
    ),
    (
        ["The novel follows a lighthouse keeper who finds letters in a bottle.",
         "Its plot is slow in the middle, but the ending is simply wonderful.",
         "The author writes the sea so vividly that you can almost smell it.",
         "I would recommend it to anyone who enjoys quiet character stories."],
        [("How is the ending?", "simply wonderful"), ("What does the keeper find?", "letters in a bottle")],
    ),
]
SETS = {  # set name -> paragraphs it holds
    "squadshifts-new-wiki": [0, 1],
    "squadshifts-reddit": [3, 2],
    "squadshifts-amazon": [4, 5],
    "subjqa": [7, 2],
    "covidqa-200423": [6],
    "qamr-wiki1k": [0],
    "policyqa": [3],
    "ester": [5],
}
UNANSWERABLE = ["Is the cover of this book nice?", "Do you think the price is fair?"]


def _write_set(folder: Path, name: str, paragraphs: list[int]) -> int:
    docs, questions = [], []
    for p in paragraphs:
        sentences, qas = PARAGRAPHS[p]
        text = " ".join(sentences)
        doc_id = f"{name}-doc{p}"
        docs.append({"id": doc_id, "title": "", "text": text})
        for q, a in qas:
            assert text.count(a) == 1
            questions.append({"id": f"{doc_id}-q{len(questions)}", "question": q, "answers": [a], "doc_id": doc_id,
                              "answer_starts": [text.index(a)], "is_impossible": False})
        if name == "subjqa":
            for q in UNANSWERABLE:
                questions.append({"id": f"{doc_id}-q{len(questions)}", "question": q, "answers": [], "doc_id": doc_id,
                                  "answer_starts": [], "is_impossible": True})
    (folder / name).mkdir(parents=True)
    for file, rows in (("documents.jsonl", docs), ("questions.jsonl", questions)):
        (folder / name / file).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return len(questions)


def _tiny_data(tmp_path: Path) -> tuple[Path, Path]:
    """Training data laid out as `--train-data` expects (one folder per set), and a three-question eval set."""
    train = tmp_path / "train-data"
    n = sum(_write_set(train, name, ps) for name, ps in SETS.items())
    assert 20 <= n <= 30
    _write_set(tmp_path, "eval", [1, 5])
    return train, tmp_path / "eval"


def _checkpoint_step(run: Path) -> int:
    return torch.load(run / "checkpoint.pt", weights_only=False)["step"]


@pytest.mark.slow
def test_tiny_run_writes_a_checkpoint_and_resumes_from_it(tmp_path: Path) -> None:
    train, evaluation = _tiny_data(tmp_path)
    run = tmp_path / "run"
    steps = 6
    command = [
        sys.executable, "-m", "training.train_reader", "--train-data", str(train), "--eval-data", str(evaluation),
        "--eval-questions", "3", "--out-dir", str(run), "--max-steps", str(steps), "--time-budget-min", "20",
        "--checkpoint-every-min", "0", "--batch-size", "4", "--max-len", "128", "--stride", "32",
        "--holdout-fraction", "0", "--distractors", "3", "--removed-sentence-negatives", "3",
        "--same-topic-negatives", "3", "--threads", "1", "--bf16", "false", "--seed", "5",
    ]
    # First run: stopped by SIGTERM as soon as its first checkpoint (after step 1) is on disk.
    log1 = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log1, stderr=subprocess.STDOUT)
    deadline = time.time() + 600
    while not (run / "checkpoint.pt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=300)
    log1.close()
    first = (tmp_path / "first.log").read_text()
    assert rc == 1, first[-3000:]
    assert "rerun the same command to resume" in first
    stopped_at = _checkpoint_step(run)
    assert 1 <= stopped_at < steps, first[-3000:]
    assert (run / "features.pt").exists() and (run / "holdout.jsonl").exists()
    assert not (run / "final").exists()
    curve_before = json.loads((run / "curve.json").read_text())
    assert curve_before and curve_before[0]["step"] == 1

    # Same command again: the windows come from features.pt and training continues at that step.
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = second.stdout + second.stderr
    assert second.returncode == 0, out[-3000:]
    assert f"windows loaded from {run / 'features.pt'}" in out
    assert f"resumed at step {stopped_at} of {steps}" in out
    assert _checkpoint_step(run) == steps
    curve = json.loads((run / "curve.json").read_text())
    assert curve[: len(curve_before)] == curve_before
    assert [c["step"] for c in curve[len(curve_before):]] == list(range(stopped_at + 1, steps + 1))
    info = json.loads((run / "final" / "training.json").read_text())
    assert info["steps"] == steps and info["config"]["max_steps"] == steps
    assert (run / "final" / "model.safetensors").exists()


def test_distillation_loss_is_the_teachers_kl_over_answer_windows_and_real_tokens() -> None:
    from training.distil import distillation_loss

    g = torch.Generator().manual_seed(3)
    student_s, student_e, teacher_s, teacher_e = (torch.randn(3, 6, generator=g) for _ in range(4))
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    rows = torch.tensor([True, True, False])
    loss = distillation_loss(student_s, student_e, teacher_s, teacher_e, mask, rows, 2.0)
    assert torch.isfinite(loss) and loss > 0
    # The same logits as the teacher: nothing to learn.
    assert distillation_loss(teacher_s, teacher_e, teacher_s, teacher_e, mask, rows, 2.0).abs() < 1e-6
    # Padding and rows left out (the [CLS] targets) are no part of it.
    moved_s, moved_e = student_s.clone(), student_e.clone()
    moved_s[0, 4:] += 50.0
    moved_e[2] -= 7.0
    assert torch.allclose(distillation_loss(moved_s, moved_e, teacher_s, teacher_e, mask, rows, 2.0), loss)
    assert distillation_loss(student_s, student_e, teacher_s, teacher_e, mask, torch.zeros(3, dtype=torch.bool), 2.0) == 0
    # By hand, for row 1's start at T = 1: sum p_t * (log p_t - log p_s).
    one = distillation_loss(student_s[1:2], teacher_e[1:2], teacher_s[1:2], teacher_e[1:2], mask[1:2], rows[1:2], 1.0)
    p_t, log_s = torch.softmax(teacher_s[1], -1), torch.log_softmax(student_s[1], -1)
    assert torch.allclose(one, (p_t * (p_t.log() - log_s)).sum() / 2, atol=1e-6)


@pytest.mark.slow
def test_tiny_run_distils_from_a_teacher(tmp_path: Path) -> None:
    from qa.read import PACKAGED_READER

    train, evaluation = _tiny_data(tmp_path)
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "training.train_reader", "--train-data", str(train), "--eval-data", str(evaluation),
        "--eval-questions", "3", "--out-dir", str(run), "--max-steps", "2", "--time-budget-min", "20",
        "--checkpoint-every-min", "30", "--batch-size", "4", "--max-len", "128", "--stride", "32",
        "--holdout-fraction", "0", "--distractors", "3", "--removed-sentence-negatives", "3",
        "--same-topic-negatives", "3", "--swapped-name-negatives", "3", "--threads", "1", "--bf16", "false", "--seed", "5",
        "--distil-from", str(PACKAGED_READER), "--distil-weight", "0.7",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert f"distilling from {PACKAGED_READER} (weight 0.70" in out
    info = json.loads((run / "final" / "training.json").read_text())
    assert info["steps"] == 2 and info["config"]["distil_from"] == str(PACKAGED_READER)
    assert all(math.isfinite(c["loss"]) for c in info["curve"])


# ---------------------------------------------------------------- hard negatives


def test_swapped_name_negatives_ask_about_a_name_the_paragraph_never_mentions() -> None:
    from training.negatives import swapped_name_negatives

    docs = {
        "p1": {"id": "p1", "text": "Pakistan's defence minister Khurram Dastgir met the delegation in Islamabad on Monday."},
        "p2": {"id": "p2", "text": "The Ostrand library in Norway was opened by Paul Kine in 1987."},
        "p3": {"id": "p3", "text": "nothing capitalised here answers anything at all."},
    }
    questions = [
        {"question": "Who is Pakistan's defence minister?", "doc_id": "p1", "answers": ["Khurram Dastgir"], "answer_starts": [28]},
        {"question": "Who opened the library in Norway?", "doc_id": "p2", "answers": ["Paul Kine"], "answer_starts": [47]},
        {"question": "What answers anything?", "doc_id": "p3", "answers": ["nothing"], "answer_starts": [0]},
    ]
    out, stats = swapped_name_negatives(docs, questions, 10, random.Random(3))
    assert stats["kept"] == 2 and stats["dropped: no name of the question in the paragraph"] == 1
    by_context = {ex.context: ex for ex in out}
    pak, nor = by_context[docs["p1"]["text"]], by_context[docs["p2"]["text"]]
    # Each question now names the other's country, which its own paragraph never mentions.
    assert pak.question == "Who is Norway's defence minister?" and nor.question == "Who opened the library in Pakistan?"
    assert all(ex.answer_start == -1 and ex.answer_text == "" and ex.source == "swapped-name" for ex in out)
    # The window kept is the one that held the original answer: the tempting span stays in view.
    assert pak.focus == 28 and docs["p1"]["text"][pak.focus :].startswith("Khurram")
    # Every question's name occurring in its paragraph, and no other to swap in: nothing is made.
    alone, stats = swapped_name_negatives({"p2": docs["p2"]}, questions[1:2], 10, random.Random(3))
    assert alone == [] and stats["dropped: no name the paragraph lacks"] == 1
    assert swapped_name_negatives(docs, questions, 1, random.Random(3))[1]["kept"] == 1


# ---------------------------------------------------------------- a run on a lent accelerator


def test_weights_come_back_in_parts_that_join_only_when_every_byte_is_theirs(tmp_path: Path) -> None:
    from qa.read import PACKAGED_READER
    from training.device_run import join, ship_back

    export, run_dir, back = tmp_path / "export", tmp_path / "run", tmp_path / "back"
    export.mkdir()
    (run_dir / "final").mkdir(parents=True)
    weights = np.random.default_rng(1).integers(0, 256, size=2_500_001, dtype=np.uint8).tobytes()
    (export / "model.safetensors").write_bytes(weights)
    (export / "config.json").write_text("{}")
    (run_dir / "final" / "training.json").write_text('{"steps": 3}')
    pack_dir = tmp_path / "pack"
    pack_dir.mkdir()
    (pack_dir / "holdout.jsonl").write_text('{"id": "q"}\n')
    # Parts of at most 1 MB here: the device's limit (16 MiB), scaled down with the weights.
    manifest = ship_back(export, run_dir, back, part_bytes=1_000_000)
    parts = manifest["parts"]
    assert [p["bytes"] for p in parts] == [1_000_000, 1_000_000, 500_001]
    assert all((back / p["name"]).stat().st_size == p["bytes"] for p in parts)

    joined = join(back, tmp_path / "reader", pack_dir)
    assert (joined / "model.safetensors").read_bytes() == weights
    assert (joined / "tokenizer.json").read_bytes() == (PACKAGED_READER / "tokenizer.json").read_bytes()
    assert (joined / "training.json").exists() and (joined / "holdout.jsonl").exists()

    # One byte changed in transit: refused, and no weights are left behind to be mistaken for the run's.
    broken = bytearray((back / parts[1]["name"]).read_bytes())
    broken[10] ^= 1
    (back / parts[1]["name"]).write_bytes(bytes(broken))
    with pytest.raises(SystemExit, match="sha256"):
        join(back, tmp_path / "reader2", pack_dir)
    assert list((tmp_path / "reader2").iterdir()) == []
    # A part that never came back, or a folder that is no run's: one line, nothing written.
    (back / parts[2]["name"]).unlink()
    with pytest.raises(SystemExit, match=r"missing model\.safetensors\.part02"):
        join(back, tmp_path / "reader3", pack_dir)
    with pytest.raises(SystemExit, match="not the files of a device run"):
        join(pack_dir, tmp_path / "reader4", pack_dir)
    assert not (tmp_path / "reader3").exists() and not (tmp_path / "reader4").exists()

    # A manifest that names files elsewhere, or a part grown in transit: refused before a byte is read or written.
    (back / parts[2]["name"]).write_bytes(weights[2_000_000:])
    lying = json.loads((back / "manifest.json").read_text())
    lying["parts"][0]["name"] = "../../etc/hostname"
    (back / "manifest.json").write_text(json.dumps(lying))
    with pytest.raises(SystemExit, match="no parts of model.safetensors"):
        join(back, tmp_path / "reader5", pack_dir)
    (back / "manifest.json").write_text(json.dumps(manifest))
    with (back / parts[0]["name"]).open("ab") as f:
        f.write(b"\0" * 4096)
    with pytest.raises(SystemExit, match="not of the size the manifest gives"):
        join(back, tmp_path / "reader6", pack_dir)
    assert not (tmp_path / "reader5").exists() and not (tmp_path / "reader6").exists()


def test_a_cuda_run_where_there_is_none_ends_in_one_line(tmp_path: Path) -> None:
    train, evaluation = _tiny_data(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "training.train_reader", "--train-data", str(train), "--eval-data", str(evaluation),
         "--out-dir", str(tmp_path / "run"), "--device", "cuda", "--max-steps", "1", "--holdout-fraction", "0",
         "--distractors", "3", "--removed-sentence-negatives", "3", "--same-topic-negatives", "3"],
        # No CUDA device visible, on any machine: the refusal is what is tested.
        cwd=ROOT, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True, check=False, timeout=600,
    )
    assert done.returncode == 1
    assert "--device cuda: torch sees no CUDA device here" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_packed_run_trains_exports_and_joins_into_a_reader_that_answers(tmp_path: Path) -> None:
    """The accelerator's path end to end, on the CPU: pack, run (the device's command), join, read."""
    from qa.read import Reader

    train, evaluation = _tiny_data(tmp_path)
    pack_dir, back = tmp_path / "pack", tmp_path / "back"
    mix = ["--train-data", str(train), "--max-len", "128", "--stride", "32", "--holdout-fraction", "0.2", "--distractors", "3",
           "--removed-sentence-negatives", "3", "--same-topic-negatives", "3", "--seed", "5"]
    packed = subprocess.run([sys.executable, "-m", "training.device_run", "pack", "--out", str(pack_dir), *mix],
                            cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)
    assert packed.returncode == 0, packed.stderr[-3000:]
    assert "a call carries" in packed.stdout
    assert json.loads((pack_dir / "pack.json").read_text())["max_len"] == 128

    schedule = ["--max-steps", "2", "--eval-questions", "3", "--eval-data", str(evaluation), "--checkpoint-every-min", "30",
                "--batch-size", "4", "--threads", "1", "--bf16", "false"]
    # A data option that differs from the pack's is refused, not silently used.
    refused = subprocess.run([sys.executable, "-m", "training.device_run", "run", "--pack", str(pack_dir), "--out", str(back),
                              "--device", "cpu", *schedule, "--max-len", "256"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)
    assert refused.returncode == 1 and "was built with other data options" in refused.stderr
    assert "max_len" in refused.stderr and "Traceback" not in refused.stderr

    ran = subprocess.run([sys.executable, "-m", "training.device_run", "run", "--pack", str(pack_dir), "--out", str(back),
                          "--device", "cpu", *schedule], cwd=ROOT, capture_output=True, text=True, check=False, timeout=900)
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]
    assert "windows loaded from" in ran.stderr
    assert all(p.stat().st_size <= 16 * 2**20 for p in back.iterdir())
    assert len(list(back.iterdir())) <= 8  # what can come back from the device
    info = json.loads((back / "training.json").read_text())
    assert info["steps"] == 2 and info["config"]["init_from"] == "qa/models/reader" and info["config"]["device"] == "cpu"

    joined = subprocess.run([sys.executable, "-m", "training.device_run", "join", str(back), "--out", str(tmp_path / "reader"),
                             "--pack", str(pack_dir)], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300)
    assert joined.returncode == 0, joined.stderr[-3000:]
    assert (tmp_path / "reader" / "holdout.jsonl").read_text() == (pack_dir / "holdout.jsonl").read_text()
    reader = Reader(tmp_path / "reader", backend="torch")
    reader.warm_up()
    passage = "The bridge over the river was opened by mayor Quentin Vasquez in March 1987."
    reading = reader.read("Who opened the bridge?", [passage], top_spans=3)
    assert any("Vasquez" in passage[s.start : s.end] for s in reading.spans)


# ---------------------------------------------------------------- SQuAD train as groups, shared normalisation

ARTICLE = {
    "Harbour_Bridge": [
        "The Harbour Bridge was opened by Mayor Lena Ortiz in 1932. It carries eight lanes of traffic.",
        "In 1998 the bridge was repainted by a crew of 40 workers from Hollis Marine.",
        ("Tolls were introduced in 1950, and the Ferry Board collected them until 2004. The toll booths stood at the "
         "northern end of the deck for half a century. Drivers paid in coins, and queues at rush hour were long. "
         "The booths were taken down when electronic tags arrived."),
        "The bridge is grey and long, and people like to walk on it at night.",
    ],
    "Other_Article": ["Mayor Lena Ortiz also opened a museum in 1935 in another city."],
}
SQUAD_QUESTIONS = [  # (article, paragraph, question, answer)
    ("Harbour_Bridge", 0, "Who opened the Harbour Bridge?", "Mayor Lena Ortiz"),
    ("Harbour_Bridge", 0, "When was the Harbour Bridge opened?", "1932"),
    ("Harbour_Bridge", 1, "How many workers repainted the bridge in 1998?", "40"),
    ("Harbour_Bridge", 2, "Who collected the tolls?", "the Ferry Board"),
]


def _squad_data(folder: Path) -> Path:
    docs, questions = [], []
    for title, paragraphs in ARTICLE.items():
        for i, text in enumerate(paragraphs):
            docs.append({"id": f"{title}-{i}", "title": title, "text": text})
    for n, (title, i, q, a) in enumerate(SQUAD_QUESTIONS):
        text = ARTICLE[title][i]
        questions.append({"id": f"q{n}", "question": q, "answers": [a], "doc_id": f"{title}-{i}", "answer_starts": [text.index(a)], "is_impossible": False})
    (folder / "squad-v1.1-train").mkdir(parents=True)
    for file, rows in (("documents.jsonl", docs), ("questions.jsonl", questions)):
        (folder / "squad-v1.1-train" / file).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def test_squad_questions_are_grouped_with_paragraphs_of_their_article_that_hold_no_answer(tmp_path: Path) -> None:
    from training.negatives import contains_gold
    from training.squad import squad_examples

    cfg = TrainConfig(train_data=str(_squad_data(tmp_path)), squad=-1, squad_group=3, squad_removed=10, squad_swapped=10)
    examples, stats = squad_examples(cfg, 100, random.Random(1))
    gold = {q: a for _, _, q, a in SQUAD_QUESTIONS}
    groups: dict[int, list[Example]] = {}
    for ex in examples:
        assert ex.group >= 100
        groups.setdefault(ex.group, []).append(ex)
    answerable = [g for g in groups.values() if g[0].source == "squad"]
    assert len(answerable) == len(SQUAD_QUESTIONS)
    for members in answerable:
        head, rest = members[0], members[1:]
        assert head.context[head.answer_start :].startswith(head.answer_text) and head.answer_text == gold[head.question]
        # Up to two other paragraphs, all of the same article, none holding the answer.
        assert 1 <= len(rest) <= 2 and all(ex.source == "squad-same-article" and ex.answer_start == -1 for ex in rest)
        assert all(ex.context in ARTICLE["Harbour_Bridge"] and ex.context != head.context for ex in rest)
        assert not any(contains_gold(ex.context, [gold[ex.question]]) for ex in rest)
    # A number's neighbours hold a number: "How many workers ...?" is never paired with the paragraph without one.
    workers = next(g for g in answerable if g[0].question.startswith("How many"))
    assert ARTICLE["Harbour_Bridge"][3] not in [ex.context for ex in workers[1:]]
    # Removed-sentence groups: the gold paragraph less the answer's sentence, and no passage of the group answers.
    removed = [g for g in groups.values() if g[0].source == "squad-removed"]
    assert removed and stats["removed: kept"] == len(removed)
    for members in removed:
        assert all(ex.answer_start == -1 and not contains_gold(ex.context, [gold[ex.question]]) for ex in members)
    # Swapped questions: a name, number or year of the question swapped for another of its article's, absent from the paragraph.
    swapped = [g[0] for g in groups.values() if g[0].source == "squad-swapped"]
    assert swapped and all(len(g) == 1 for g in groups.values() if g[0].source == "squad-swapped")
    originals = {q for _, _, q, _ in SQUAD_QUESTIONS}
    for ex in swapped:
        assert ex.question not in originals and ex.answer_start == -1 and ex.focus >= 0
        changed = set(ex.question.replace("?", "").split()) - {w for q in originals for w in q.replace("?", "").split()}
        assert changed and not any(w in ex.context for w in changed), ex.question
    # Off by default: the mix without --squad has no part of it.
    assert squad_examples(TrainConfig(train_data=str(tmp_path)), 0, random.Random(1))[0] == []


def test_a_number_answer_is_replaced_by_a_number_of_another_kind_from_its_article(tmp_path: Path) -> None:
    from training.negatives import contains_gold
    from training.squad import number_kind, squad_examples

    assert [number_kind(s) for s in ("$5 million", "1,100 kilometres", "March 3, 1990", "45%", "12 years", "40", "Mayor Lena Ortiz")] == [
        "money", "measure", "time", "percent", "duration", "count", None]
    cfg = TrainConfig(train_data=str(_squad_data(tmp_path)), squad=-1, squad_group=1, squad_retyped=10)
    examples, stats = squad_examples(cfg, 0, random.Random(3))
    retyped = [ex for ex in examples if ex.source == "squad-retyped"]
    gold = {q: (title, i, a) for title, i, q, a in SQUAD_QUESTIONS}
    # Only the number answers ("1932", "40"); a name is never "retyped".
    assert sorted(ex.question for ex in retyped) == ["How many workers repainted the bridge in 1998?", "When was the Harbour Bridge opened?"], stats
    for ex in retyped:
        title, i, answer = gold[ex.question]
        original = ARTICLE[title][i]
        start = original.index(answer)
        assert ex.answer_start == -1 and ex.focus == start and not contains_gold(ex.context, [answer])
        # The rest of the paragraph is as it was; in the answer's place, a number of another kind from the article.
        put = ex.context[start : len(ex.context) - (len(original) - start - len(answer))]
        assert ex.context.startswith(original[:start]) and ex.context.endswith(original[start + len(answer) :])
        assert put in " ".join(ARTICLE[title]) and number_kind(put) not in (None, number_kind(answer)), put


def test_who_wrote_questions_are_answered_by_the_byline_and_by_nobody_without_one(tmp_path: Path) -> None:
    from training.squad import squad_examples

    folder = _squad_data(tmp_path)
    # Three names with one given name make "John" a given name; "Mayor Lena Ortiz" starts with a title.
    people = [("Who wrote the Federalist essays?", "John Jay"), ("Who drafted the treaty?", "John Adams"), ("Who wrote the essay?", "John Locke")]
    with open(folder / "squad-v1.1-train" / "documents.jsonl", "a", encoding="utf-8") as docs, open(folder / "squad-v1.1-train" / "questions.jsonl", "a", encoding="utf-8") as qs:
        for n, (q, a) in enumerate(people):
            text = f"It is said that {a} did so in 1787."
            docs.write(json.dumps({"id": f"people-{n}", "title": "People", "text": text}) + "\n")
            qs.write(json.dumps({"id": f"p{n}", "question": q, "answers": [a], "doc_id": f"people-{n}", "answer_starts": [text.index(a)], "is_impossible": False}) + "\n")
    cfg = TrainConfig(train_data=str(folder), squad=-1, squad_group=1, squad_bylines=30)
    examples, stats = squad_examples(cfg, 0, random.Random(5))
    signed = [ex for ex in examples if ex.source == "squad-byline"]
    unsigned = [ex for ex in examples if ex.source == "squad-byline-none"]
    assert signed and unsigned and len(signed) + len(unsigned) == 30, stats
    for ex in signed:
        assert ex.answer_text in {"John Jay", "John Adams", "John Locke"} and ex.context[ex.answer_start :].startswith(ex.answer_text)
        # Named once, in the byline line, above a paragraph that never mentions them.
        assert ex.context.count("John") == 1 and "\n\n" in ex.context[ex.answer_start :]
    for ex in signed + unsigned:
        assert ex.question.startswith(("Who", "Which reporter")) and ex.group >= 0
        topic = ex.question.split(" about " if " about " in ex.question else " on ")[1].rstrip("?")
        assert ex.context.lower().startswith(topic.lower() + "\n\n")
        # The paragraph follows whole, or its first sentence stands above the byline as a standfirst.
        paragraphs = [p for ps in ARTICLE.values() for p in ps] + [f"It is said that {a} did so in 1787." for _, a in people]
        assert any((p.partition(". ")[2] or p) in ex.context for p in paragraphs)
    assert all(ex.answer_start == -1 and "John" not in ex.context for ex in unsigned)
    assert stats["bylines: dropped: the paragraph mentions the name"] > 0  # the People paragraphs name them


def test_a_group_keeps_to_one_batch_and_loses_its_windows_with_its_answer() -> None:
    from training.features import grouped_batches, one_answer_a_group

    feats = [{"input_ids": [0] * n, "start": s, "end": s, "source": src, "group": g} for n, s, src, g in [
        (10, 3, "squad", 0), (12, 0, "squad-same-article", 0), (9, 0, "squad-same-article", 0),
        (10, 2, "squad", 0),  # a second window holding the answer: one target a softmax
        (30, 0, "squad-same-article", 1),  # its answer window was lost: what's left lacks the answer, so it stays
        (11, 0, "distractor", -1), (8, 4, "squadshifts-reddit", -1), (20, 0, "squad-removed", 2), (21, 0, "squad-same-article", 2),
    ]]
    kept = one_answer_a_group(feats)
    assert [(f["group"], f["start"]) for f in kept] == [(0, 3), (0, 0), (0, 0), (1, 0), (-1, 0), (-1, 4), (2, 0), (2, 0)]
    lengths = np.array([len(f["input_ids"]) for f in kept])
    for seed in range(5):
        batches = grouped_batches(kept, lengths, 4, seed)
        assert sorted(i for b in batches for i in b) == list(range(len(kept)))
        assert all(len(b) <= 4 for b in batches)
        for g in (0, 1, 2):
            members = {i for i, f in enumerate(kept) if f["group"] == g}
            assert sum(bool(members & set(b.tolist())) for b in batches) == 1
        assert [b.tolist() for b in batches] == [b.tolist() for b in grouped_batches(kept, lengths, 4, seed)]


def test_shared_normalisation_puts_a_groups_margins_and_no_answer_in_one_softmax() -> None:
    from training.shared_norm import group_targets, shared_norm_loss

    feats = [{"group": 0, "start": 3, "end": 4}, {"group": 0, "start": 0, "end": 0}, {"group": -1, "start": 0, "end": 0}, {"group": 1, "start": 0, "end": 0}]
    groups = group_targets(feats, [0, 1, 2, 3])
    assert groups == [([0, 1], (0, 3, 4)), ([3], None)]
    # Rows: [CLS] and a question token (segment 0), then passage tokens (segment 1); row 3 has five.
    token_types = torch.tensor([[0, 0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1, 1]])
    mask = torch.ones_like(token_types)
    start = torch.zeros(4, 7, requires_grad=True)
    end = torch.zeros(4, 7, requires_grad=True)
    loss = shared_norm_loss(start, end, token_types, mask, groups)
    # Equal margins: group 0 spreads over 8 passage tokens and "no answer", group 1 over 5 and it.
    assert loss.item() == pytest.approx((math.log(9) + math.log(6)) / 2, rel=1e-5)
    loss.backward()
    assert start.grad[0, 3] < 0 and start.grad[1, 3] > 0  # the answer up, the other window's tokens down
    assert start.grad[3, 0] < 0  # no answer in group 1: its window's [CLS] up, which lowers every margin
    assert torch.all(start.grad[2] == 0)  # a window of no group takes no part
    # A margin is a logit less its window's [CLS]: raising a whole window's logits changes nothing.
    shifted = start.detach().clone()
    shifted[1] += 5.0
    assert shared_norm_loss(shifted, end.detach(), token_types, mask, groups).item() == pytest.approx(loss.item(), rel=1e-5)


@pytest.mark.slow
def test_tiny_run_trains_squad_groups_with_shared_normalisation(tmp_path: Path) -> None:
    train, evaluation = _tiny_data(tmp_path)
    _squad_data(train)
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "training.train_reader", "--train-data", str(train), "--eval-data", str(evaluation),
        "--eval-questions", "3", "--out-dir", str(run), "--max-steps", "3", "--time-budget-min", "20",
        "--checkpoint-every-min", "0", "--batch-size", "4", "--max-len", "128", "--stride", "32",
        "--holdout-fraction", "0", "--distractors", "3", "--removed-sentence-negatives", "0", "--same-topic-negatives", "0",
        "--squad", "-1", "--squad-group", "2", "--squad-removed", "2", "--squad-swapped", "2", "--shared-norm", "0.5",
        "--threads", "1", "--bf16", "false", "--seed", "5",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "squad v1.1 train:" in out and "squad-same-article" in out
    info = json.loads((run / "final" / "training.json").read_text())
    assert info["steps"] == 3 and info["config"]["shared_norm"] == 0.5 and "squad" in info["mix"]
    assert all(math.isfinite(c["loss"]) for c in info["curve"])
