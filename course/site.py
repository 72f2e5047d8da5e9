"""The course as a static website: the lessons, one `course run`'s executed notebooks and its
report, staged as MkDocs pages and built by Material for MkDocs with mkdocs-jupyter.

Material for MkDocs builds offline from Python packages alone; Jupyter Book 2 (MyST) fetches its
theme from the network on every fresh build, which a classroom or CI machine may not have."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nbformat
import pandas as pd
import yaml

from course.runner import discover_notebooks, is_full_lesson, notebook_output_dir
from course.series_report import earlier_outcomes
from helpers.ladder import best_per_notebook, reference_results
from helpers.modern.peaks import peak_tflops
from helpers.results_log import headline, read_results

SOURCES = Path("site")  # mkdocs.yml, home.md, instructors.md, timings.csv, WORK_FILE, assets/
MARKER = ".course-site"  # in every built site: a folder holding it may be rebuilt
COURSE_MAP_SLOT = "<!-- course map -->"
TIMES_SLOT = "<!-- notebook times -->"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
LOCAL_BADGE = "../assets/colab-badge.svg"  # from a notebook page, notebooks/NN_topic.html
README_ROW = re.compile(r"^\| (\d\d) \| \[[^\]]+\]\(notebooks/[^)]+\) \| \[reading\]\("
                        r"lessons/[^)]+\) \| (.+) \|$", re.MULTILINE)
NOT_MEASURED = "not measured yet"
NO_REFERENCE = "no reference run yet"
WORK_FILE = "full_profile_flops.csv"  # in SOURCES: each notebook's full-profile training PFLOP
# The share of a T4's peak assumed for its estimates: what ResNet-9 reached of an H100's
# bfloat16 peak in README's time-to-accuracy measurement (96,000 images/s x 1.98 GFLOP).
T4_SHARE = 0.19
T4_BASIS = ("training only, at 19% of the T4's peak for the notebook's number format (65 TFLOP/s "
            "in float16, 8.1 in float32), the share of an H100's peak that ResNet-9 reached in "
            "README's time-to-accuracy measurement")


class SiteError(ValueError):
    """What is missing for a site, and what to do about it."""


@dataclass(frozen=True)
class Chapter:
    """One notebook of the series with its lesson, as the site shows them."""

    number: str
    stem: str
    title: str  # "03 · Convolution from first principles"
    colab_url: str
    summary: str  # README's "what you learn"


@dataclass(frozen=True)
class BuiltSite:
    """Where a site was written, from which run, how many pages, in how many seconds."""

    folder: Path
    run: Path
    pages: int
    seconds: float


def latest_run(runs_dir: Path) -> Path:
    """The run folder under `runs_dir` whose report was written last."""
    reports = sorted(Path(runs_dir).glob("*/report.md"), key=lambda path: path.stat().st_mtime)
    if not reports:
        raise SiteError(f"no course run in {runs_dir}/: run `make course` (or `course run`) "
                        "first, or name a run's folder with --run FOLDER")
    return reports[-1].parent


def read_executed(path: Path) -> nbformat.NotebookNode:
    """An executed copy, or a SiteError that says which copy is damaged and what to do."""
    try:
        return nbformat.read(path, 4)
    except (OSError, ValueError) as err:  # nbformat's NotJSONError is a ValueError
        raise SiteError(f"{path} cannot be read as a notebook ({type(err).__name__}): it may "
                        "have been cut short as it was written; run that notebook again into "
                        f"the same folder (course run --only {path.name[:2]} --output "
                        f"{path.parent})") from None


def executed_copies(run_dir: Path, notebooks: Sequence[Path]) -> dict[str, Path]:
    """The run's executed copy of each notebook it executed, refusing copies that were only
    prepared (`course prepare` writes into the same folders, with no outputs)."""
    if not (run_dir / "report.md").is_file():
        raise SiteError(f"{run_dir} holds no report.md: name the folder a `course run` wrote")
    copies = {path.stem: run_dir / path.name for path in notebooks
              if (run_dir / path.name).is_file()}
    unexecuted = [path.name for path in copies.values()
                  if not any(cell.get("outputs") for cell in read_executed(path).cells
                             if cell.cell_type == "code")]
    if unexecuted:
        raise SiteError(f"{', '.join(unexecuted)} in {run_dir} were prepared, not executed "
                        "(course prepare writes such copies): run `course run` into that folder")
    if not copies:
        raise SiteError(f"{run_dir} holds no executed notebook: run `course run` into it")
    return copies


def readme_summaries(readme: str) -> dict[str, str]:
    """README's "what you learn" for each notebook number."""
    return {number: text.strip() for number, text in README_ROW.findall(readme)}


def chapter_of(notebook: Path, summaries: dict[str, str]) -> Chapter:
    """A notebook's title and Colab link, from its opening cell, with its summary."""
    opening = "".join(nbformat.read(notebook, 4).cells[0].source)
    title = re.search(r"^# (.+)$", opening, re.MULTILINE)
    colab = re.search(r'href="(https://colab\.research\.google\.com/[^"]+)"', opening)
    if not (title and colab):
        raise SiteError(f"{notebook} does not open with a title and an Open in Colab link")
    return Chapter(notebook.name[:2], notebook.stem, title.group(1).strip(), colab.group(1),
                   summaries.get(notebook.name[:2], ""))


def split_front_matter(text: str) -> tuple[dict, str]:
    """(YAML front matter, body) of a Markdown page."""
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    if not match:
        return {}, text
    return yaml.safe_load(match.group(1)) or {}, text[match.end():]


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"    - {item}" for item in items)


def lesson_page(lesson: Path, chapter: Chapter, *, executed: bool) -> str:
    """A lesson for the site: its questions and objectives first, with links to its notebook
    (its page when the run executed it), and its key points last, as Software Carpentry lays
    out a lesson."""
    meta, body = split_front_matter(lesson.read_text())
    notebook = (f"[{chapter.title}](../notebooks/{chapter.stem}.ipynb), or "
                f"[open it in Colab]({chapter.colab_url})" if executed else
                f"[{chapter.title}]({chapter.colab_url}) in Colab (the run this site shows did "
                "not execute it)")
    opening = [
        "---", yaml.safe_dump({"title": chapter.title}, allow_unicode=True).strip(), "---", "",
        f'!!! abstract "Lesson {chapter.number}: planned {meta.get("teaching", "?")} minutes '
        f'of teaching, {meta.get("exercises", "?")} of exercises"',
        f"    The notebook: {notebook}.", "",
        "    **Questions**", "", _bullets(meta.get("questions", [])), "",
        "    **Objectives**", "", _bullets(meta.get("objectives", [])), "",
    ]
    closing = ["", "## Key points", "", *(f"- {point}" for point in meta.get("keypoints", []))]
    return "\n".join(opening) + body + "\n".join(closing) + "\n"


def _figure_html(output: nbformat.NotebookNode) -> str:
    alt = output.metadata["image/png"]["alt"].replace("&", "&amp;").replace('"', "&quot;")
    return f'<img src="data:image/png;base64,{output.data["image/png"].strip()}" alt="{alt}">'


def which_run(run: str, results: dict) -> str:
    """The note at the top of a notebook's page: which run it shows, on what, and plainly
    whether that run was shortened."""
    where = results.get("environment") or {}
    device = (f" on {where['device']} with the {where['backend']} backend"
              if where else "")
    note = f"> **Which run this page shows:** `course run` {run}{device}. "
    if is_full_lesson(run):
        return note + "The full lesson, as the notebook is written."
    return note + ("**This is a shortened or altered run**, not the full lesson: its figures "
                   "show that the notebook runs, not what the lesson reaches. The course "
                   "map's reference column gives the results of full-length runs.")


def notebook_page(executed: Path, run: str, results: dict) -> nbformat.NotebookNode:
    """An executed copy for the site: a note on which run it shows (see `which_run`) under its
    title, the Colab badge from the site itself (no request leaves it), and each figure with
    its title as alt text (see course.figure_alt)."""
    notebook = read_executed(executed)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(which_run(run, results)))
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(COLAB_BADGE, LOCAL_BADGE)
            continue
        for output in cell.get("outputs", []):
            alt = output.get("metadata", {}).get("image/png", {}).get("alt")
            if output.get("output_type") in ("display_data", "execute_result") and alt:
                output.data = {"text/html": _figure_html(output)}
    return notebook


def read_timings(path: Path) -> pd.DataFrame:
    """Measured minutes per notebook, the latest row per notebook and kind (gpu or cpu)."""
    table = pd.read_csv(path, dtype={"notebook": str})
    unknown = set(table["kind"]) - {"gpu", "cpu"}
    if unknown:
        raise SiteError(f"{path}: kind must be gpu or cpu, not {', '.join(sorted(unknown))}")
    table["minutes"] = table["seconds"] / 60
    return table.sort_values("date").groupby(["notebook", "kind"]).tail(1)


def _minutes(timings: pd.DataFrame, stem: str, kind: str) -> str:
    rows = timings[(timings["notebook"] == stem) & (timings["kind"] == kind)]
    return f"{rows['minutes'].iloc[0]:.1f}" if len(rows) else "—"


def read_work(path: Path) -> pd.DataFrame:
    """Each notebook's full-profile training PFLOP and number format ("float32" or "mixed")."""
    table = pd.read_csv(path, dtype={"notebook": str, "number_format": str})
    unknown = set(table["number_format"]) - {"float32", "mixed"}
    if unknown:
        raise SiteError(f"{path}: number_format must be float32 or mixed, not "
                        f"{', '.join(sorted(unknown))}")
    return table.set_index("notebook")


def t4_estimate_minutes(pflop: float, number_format: str) -> float:
    """Minutes of training a free Colab T4 would need for `pflop`, at T4_SHARE of its peak."""
    policy = "mixed_float16" if number_format == "mixed" else "float32"
    return pflop * 1e15 / (T4_SHARE * peak_tflops("Tesla T4", policy) * 1e12) / 60


def _gpu_minutes(timings: pd.DataFrame, work: pd.DataFrame, stem: str) -> str:
    """Measured GPU minutes, or else the labelled T4 estimate."""
    measured = _minutes(timings, stem, "gpu")
    if measured != "—" or stem not in work.index:
        return measured
    row = work.loc[stem]
    if not row["pflop"]:
        return "no training"
    return f"≈ {t4_estimate_minutes(row['pflop'], row['number_format']):.0f} (T4 estimate)"


def _measured_on(timings: pd.DataFrame, kind: str) -> str:
    """Where the minutes of one kind were measured, in words."""
    rows = timings[timings["kind"] == kind]
    if rows.empty:
        return NOT_MEASURED
    return "; ".join(sorted({f"{row.profile} profile, {row.device}, {row.backend}"
                             for row in rows.itertuples()}))


def _this_run(run_dir: Path, stem: str, status: str, run: str) -> str:
    """This run's cell of the map: the headline test accuracy of a full-profile run; for a
    shortened run only that it ran, since its accuracy is not what the lesson reaches."""
    if status != "ok":
        return status
    if not is_full_lesson(run):
        return "ran (shortened run)"
    results = read_results(notebook_output_dir(run_dir, Path(f"{stem}.ipynb"))) or {}
    best = headline(results) if results.get("models") else None
    if best and best.get("test_accuracy") is not None:
        return f"{best['test_accuracy']:.1%}"
    return "ran (no model recorded)"


def _reference(reference: pd.DataFrame, stem: str) -> str:
    """A notebook's best reference model (chosen on validation): its test accuracy, where and
    when it was measured."""
    rows = best_per_notebook(reference[reference["notebook"] == stem])
    if rows.empty:
        return NO_REFERENCE
    best = rows.iloc[0]
    return f"{best['test_accuracy']:.1%} ({best['device']}, {best['backend']}, {best['date']})"


def course_map(chapters: Sequence[Chapter], run_dir: Path, timings: pd.DataFrame,
               runs: dict[str, tuple[str, str]], reference: pd.DataFrame,
               work: pd.DataFrame) -> str:
    """The home page's table: each notebook, its lesson, what it teaches, the test accuracy of
    its reference run, what this run did, minutes measured on a GPU (or a labelled T4 estimate
    from `work`) and on a CPU. `runs` gives each executed notebook's (status, run label)."""
    lines = ["| # | Notebook | Lesson | What you learn | Test accuracy (reference run) | "
             "This run | GPU minutes | CPU minutes |", "|---|---|---|---|---|---|---|---|"]
    for chapter in chapters:
        status, run = runs.get(chapter.stem, ("not run", ""))
        notebook = (f"[{chapter.title.split(' · ', 1)[-1]}](notebooks/{chapter.stem}.ipynb)"
                    if status != "not run" else chapter.title.split(" · ", 1)[-1])
        lines.append(f"| {chapter.number} | {notebook} | [reading](lessons/{chapter.stem}.md) "
                     f"| {chapter.summary} | {_reference(reference, chapter.stem)} | "
                     f"{_this_run(run_dir, chapter.stem, status, run)} | "
                     f"{_gpu_minutes(timings, work, chapter.stem)} | "
                     f"{_minutes(timings, chapter.stem, 'cpu')} |")
    lines += ["", f"GPU minutes: {_measured_on(timings, 'gpu')}. Where none was measured, a T4 "
              f"estimate from the full lesson's training FLOPs (counted with helpers.flops), "
              f"{T4_BASIS}: an estimate, not a measurement. CPU minutes: "
              f"{_measured_on(timings, 'cpu')}. The [instructors' page](instructors.md) gives "
              "each measurement's source; a dash means none yet."]
    return "\n".join(lines)


def times_table(timings: pd.DataFrame, chapters: Sequence[Chapter]) -> str:
    """The instructors' table of measured minutes, each with its device and source."""
    lines = ["| Notebook | Minutes on a GPU | Minutes on a CPU | Measured on | Source |",
             "|---|---|---|---|---|"]
    for chapter in chapters:
        rows = timings[timings["notebook"] == chapter.stem]
        measured = "; ".join(f"{row.kind.upper()}: {row.device}, {row.profile} profile, "
                             f"{row.backend}, {row.date}" for row in rows.itertuples())
        sources = "; ".join(sorted(set(rows["source"])))
        lines.append(f"| {chapter.title} | {_minutes(timings, chapter.stem, 'gpu')} | "
                     f"{_minutes(timings, chapter.stem, 'cpu')} | {measured or NOT_MEASURED} "
                     f"| {sources} |")
    return "\n".join(lines)


def _run_sentence(runs: Sequence[str]) -> str:
    return ("The reference column gives each notebook's test accuracy from a full-length run "
            "of it, with the device, backend and date of that run (the course's "
            "`helpers/reference_results.csv`). The notebook pages on this site come from one "
            f"`course run` ({'; '.join(sorted(set(runs)))}); the [series report](report.md) has "
            "every model it trained. A shortened run (the smoke profile trains on a small "
            "subset for one epoch) only shows that everything runs: its accuracies are never "
            "the course's results.")


def _copy_mathjax(target: Path) -> None:
    """MathJax 2 from jupyter-server-mathjax, so the notebooks' formulas render offline;
    HTML-CSS output with its STIX web fonts (the package ships no TeX fonts)."""
    source = resources.files("jupyter_server_mathjax") / "static"
    with resources.as_file(source) as folder:
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("a11y", "SVG"))
    (target / "config" / "local").mkdir(exist_ok=True)
    (target / "config" / "local" / "course.js").write_text(
        'MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], webFont: "STIX-Web", '
        'imageFont: null, styles: {"@font-face": {"font-family": "MathJax_Blank", '
        'src: "local(\'MathJax_Blank\')"}}}, menuSettings: {zoom: "None"}});\n'
        'MathJax.Ajax.loadComplete("[MathJax]/config/local/course.js");\n')


def stage(run_dir: Path, docs: Path, *, root: Path) -> list[dict]:
    """Write the site's Markdown and notebook pages into `docs`; return the navigation."""
    notebooks = discover_notebooks(root / "notebooks")
    copies = executed_copies(run_dir, notebooks)
    outcomes = earlier_outcomes(run_dir)
    if not outcomes:
        raise SiteError(f"{run_dir} holds no results.csv: name the folder a `course run` wrote")
    summaries = readme_summaries((root / "README.md").read_text())
    chapters = [chapter_of(path, summaries) for path in notebooks]
    timings = read_timings(root / SOURCES / "timings.csv")
    runs = {outcome.notebook: (outcome.status, outcome.run) for outcome in outcomes}
    (docs / "lessons").mkdir(parents=True)
    (docs / "notebooks").mkdir()
    for chapter in chapters:
        lesson = root / "lessons" / f"{chapter.stem}.md"
        (docs / "lessons" / lesson.name).write_text(
            lesson_page(lesson, chapter, executed=chapter.stem in copies))
        if chapter.stem in copies:
            run = runs[chapter.stem][1]
            results = read_results(notebook_output_dir(run_dir, copies[chapter.stem])) or {}
            nbformat.write(notebook_page(copies[chapter.stem], run, results),
                           docs / "notebooks" / f"{chapter.stem}.ipynb")
    home = (root / SOURCES / "home.md").read_text().replace(
        COURSE_MAP_SLOT, _run_sentence([outcome.run for outcome in outcomes]) + "\n\n"
        + course_map(chapters, run_dir, timings, runs, reference_results(),
                     read_work(root / SOURCES / WORK_FILE)))
    (docs / "index.md").write_text(home)
    (docs / "instructors.md").write_text((root / SOURCES / "instructors.md").read_text()
                                         .replace(TIMES_SLOT, times_table(timings, chapters)))
    shutil.copy(run_dir / "report.md", docs / "report.md")
    shutil.copy(run_dir / "accuracy.png", docs / "accuracy.png")
    shutil.copytree(root / SOURCES / "assets", docs / "assets")
    _copy_mathjax(docs / "assets" / "mathjax")
    nav = [{"Home": "index.md"},
           {"Lessons": [{chapter.title: f"lessons/{chapter.stem}.md"} for chapter in chapters]},
           {"Notebooks": [{chapter.title: f"notebooks/{chapter.stem}.ipynb"}
                          for chapter in chapters if chapter.stem in copies]},
           {"Series report": "report.md"}, {"For instructors": "instructors.md"}]
    return nav


def check_output_folder(output: Path) -> None:
    """Refuse to build into a folder of other files: MkDocs empties the folder it builds into."""
    if output.exists() and not output.is_dir():
        raise SiteError(f"--output {output} is a file; name a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / MARKER).exists():
        raise SiteError(f"--output {output} holds files that no `course site` wrote, which "
                        "building would delete; choose a new or empty folder")


def build_site(run_dir: Path, output: Path, *, root: Path = Path(".")) -> BuiltSite:
    """Stage the pages of `run_dir` and build the site into `output` (strict: a broken link or
    a missing page stops the build)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    start = time.perf_counter()
    root, output = root.resolve(), output.resolve()
    check_output_folder(output)
    with tempfile.TemporaryDirectory(prefix="course-site-") as staging:
        docs = Path(staging) / "docs"
        nav = stage(run_dir.resolve(), docs, root=root)
        config_file = Path(staging) / "mkdocs.yml"
        config_file.write_text(yaml.safe_dump(
            {"INHERIT": str(root / SOURCES / "mkdocs.yml"), "docs_dir": str(docs),
             "site_dir": str(output), "nav": nav,
             "hooks": [str(Path(__file__).with_name("site_hooks.py"))]},
            allow_unicode=True, sort_keys=False))
        try:
            build(load_config(config_file=str(config_file), strict=True))
        except Abort as err:
            raise SiteError(f"MkDocs stopped: {err} (its warnings are printed above)") from None
    (output / MARKER).write_text(f"built by course site from {run_dir}\n")
    pages = len(list(output.rglob("*.html"))) - (output / "404.html").exists()
    return BuiltSite(output, run_dir, pages, time.perf_counter() - start)
