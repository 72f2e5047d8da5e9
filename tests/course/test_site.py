"""`course site` and course.site on a small course of two notebooks and a made-up run: what the
pages hold, and what the builder refuses. The real site, in a browser: test_site_browser.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest

from course import cli, figure_alt, site

pytestmark = pytest.mark.one_backend

ROOT = Path(__file__).resolve().parents[2]
COLAB = "https://colab.research.google.com/github/cnn-course/keras-cnn-course/blob/main/notebooks"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJ"
       "RU5ErkJggg==")  # one pixel


def _notebook(stem: str, title: str, *, executed: bool) -> nbformat.NotebookNode:
    opening = (f"# {title}\n\n<a href=\"{COLAB}/{stem}.ipynb\"><img src=\"{site.COLAB_BADGE}\" "
               "alt=\"Open in Colab\"/></a>\n\nWhat it teaches.")
    figure = nbformat.v4.new_code_cell("plot()")
    if executed:
        figure.outputs = [
            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Fig>"},
                                   metadata={"image/png": {"alt": "Loss & accuracy by epoch"}}),
            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Fig>"}),
        ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(opening),
                                               nbformat.v4.new_markdown_cell("## A section"),
                                               figure])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    return notebook


@pytest.fixture
def course(tmp_path: Path) -> SimpleNamespace:
    """A course of two notebooks, and a run that executed the first and not the second."""
    root, run = tmp_path / "course", tmp_path / "course" / "runs" / "smoke"
    for folder in ("notebooks", "lessons", "site"):
        (root / folder).mkdir(parents=True)
    chapters = {"00_first": "00 · The first", "01_second": "01 · The second"}
    rows = []
    for stem, title in chapters.items():
        nbformat.write(_notebook(stem, title, executed=False), root / "notebooks" / f"{stem}.ipynb")
        (root / "lessons" / f"{stem}.md").write_text(
            f'---\ntitle: "{title[5:]}"\nnotebook: notebooks/{stem}.ipynb\nteaching: 30\n'
            'exercises: 10\nquestions:\n- "Why?"\nobjectives:\n- "Do it."\nkeypoints:\n'
            '- "It is done."\n---\n\n## The idea\n\nProse.\n')
        rows.append(f"| {stem[:2]} | [{title[5:]}](notebooks/{stem}.ipynb) | "
                    f"[reading](lessons/{stem}.md) | what {stem} teaches |")
    (root / "README.md").write_text("| # | notebook | lesson | what you learn |\n"
                                    "|---|---|---|---|\n" + "\n".join(rows) + "\n")
    for name in ("mkdocs.yml", "home.md", "assets"):
        copy = shutil.copytree if (ROOT / "site" / name).is_dir() else shutil.copy
        copy(ROOT / "site" / name, root / "site" / name)
    (root / "site" / "instructors.md").write_text(
        f'---\ntitle: "For instructors"\n---\n\n## At a glance\n\n{site.TIMES_SLOT}\n')
    (root / "site" / "timings.csv").write_text(
        "notebook,kind,device,profile,backend,seconds,date,source\n"
        "00_first,cpu,2-core CPU,smoke,tensorflow,90,2026-11-24,a test\n")
    (root / "site" / site.WORK_FILE).write_text(
        "notebook,pflop,number_format,date,commit,how\n00_first,1.17,float32,2026-12-06,c,test\n"
        "01_second,7.6,mixed,2026-12-06,c,test\n")
    run.mkdir(parents=True)
    nbformat.write(_notebook("00_first", chapters["00_first"], executed=True),
                   run / "00_first.ipynb")
    (run / "00_first").mkdir()
    (run / "00_first" / "results.json").write_text(json.dumps(
        {"notebook": "00_first", "dataset": "CIFAR-10",
         "environment": {"device": "Tesla T4", "backend": "jax"}, "models": [
            {"model": "a CNN", "dataset": "CIFAR-10", "val_accuracy": 0.7,
             "test_accuracy": 0.725}]}))
    (run / "results.csv").write_text("notebook,status,seconds,error,run\n"
                                     "00_first,ok,90,,\"2026-11-24 10:00:00, smoke\"\n")
    (run / "report.md").write_text("# Course report\n\n![Test accuracy](accuracy.png)\n")
    fig, ax = plt.subplots()
    ax.set_title("Test accuracy per notebook")
    fig.savefig(run / "accuracy.png")
    plt.close(fig)
    return SimpleNamespace(root=root, run=run, output=tmp_path / "built")


@pytest.fixture
def built(course: SimpleNamespace) -> SimpleNamespace:
    course.site = site.build_site(course.run, course.output, root=course.root)
    return course


REFERENCE = pd.DataFrame([{"notebook": "00_first", "model": "a CNN", "test_accuracy": 0.812,
                            "val_accuracy": 0.8, "device": "NVIDIA H100 80GB HBM3",
                            "backend": "jax", "date": "2026-12-01"}])


def test_the_home_page_maps_the_course_with_reference_results_and_measured_minutes(
        course, monkeypatch):
    monkeypatch.setattr(site, "reference_results", lambda: REFERENCE)
    site.build_site(course.run, course.output, root=course.root)
    home = (course.output / "index.html").read_text()
    assert "what 00_first teaches" in home and "what 01_second teaches" in home
    assert "81.2% (NVIDIA H100 80GB HBM3, jax, 2026-12-01)" in home
    assert site.NO_REFERENCE in home  # 01_second has no reference row
    assert "72.5%" not in home  # a smoke run's accuracy is never shown as a result
    assert "ran (shortened run)" in home
    assert "1.5" in home  # 90 s on the CPU, from timings.csv
    # no GPU measurement: 1.17 PFLOP at 19% of a T4's 8.1 TFLOP/s in float32, 7.6 at 19% of 65
    assert "≈ 13 (T4 estimate)" in home and "≈ 10 (T4 estimate)" in home
    assert 'href="notebooks/00_first.html"' in home
    assert 'href="notebooks/01_second.html"' not in home  # not run: no page to link to
    assert "2026-11-24 10:00:00, smoke" in home  # which run the pages come from


def test_a_full_profile_run_shows_its_own_accuracy_beside_the_reference(course, monkeypatch):
    monkeypatch.setattr(site, "reference_results", lambda: REFERENCE)
    results = course.run / "results.csv"
    results.write_text(results.read_text().replace(", smoke", ", full"))
    site.build_site(course.run, course.output, root=course.root)
    assert "72.5%" in (course.output / "index.html").read_text()
    page = (course.output / "notebooks" / "00_first.html").read_text()
    assert "The full lesson, as the notebook is written." in page


def test_a_notebook_page_says_which_run_it_shows_and_that_a_smoke_run_is_shortened(built):
    page = (built.output / "notebooks" / "00_first.html").read_text()
    assert "2026-11-24 10:00:00, smoke on Tesla T4 with the jax backend" in page
    assert "This is a shortened or altered run" in page


def test_a_notebook_page_has_its_figures_titles_and_the_colab_button_from_the_site(built):
    page = (built.output / "notebooks" / "00_first.html").read_text()
    assert 'alt="Loss &amp; accuracy by epoch"' in page
    assert "../assets/colab-badge.svg" in page and site.COLAB_BADGE not in page
    assert f"{COLAB}/00_first.ipynb" in page
    assert (built.output / "assets" / "colab-badge.svg").is_file()
    assert (built.output / "assets" / "mathjax" / "MathJax.js").is_file()


def test_a_lesson_page_opens_with_its_questions_and_closes_with_its_key_points(built):
    page = (built.output / "lessons" / "00_first.html").read_text()
    assert page.index("Why?") < page.index("Do it.") < page.index("Prose.") \
        < page.index("It is done.")
    assert 'href="../notebooks/00_first.html"' in page
    assert "planned 30 minutes of teaching, 10 of exercises" in page


def test_the_instructors_page_gets_the_table_of_measured_minutes(built):
    page = (built.output / "instructors.html").read_text()
    assert site.TIMES_SLOT not in page
    assert "a test" in page and site.NOT_MEASURED in page  # 01 has no measurement


def test_the_report_and_its_chart_are_pages_of_the_site(built):
    assert "Course report" in (built.output / "report.html").read_text()
    assert (built.output / "accuracy.png").is_file()
    assert built.site.pages >= 6


def test_building_again_replaces_the_site_it_built(built):
    (built.output / "stale.html").write_text("old")
    site.build_site(built.run, built.output, root=built.root)
    assert not (built.output / "stale.html").exists()


def test_a_folder_of_other_files_is_refused_and_left_as_it_was(course):
    course.output.mkdir()
    (course.output / "thesis.tex").write_text("mine")
    with pytest.raises(site.SiteError, match="no `course site` wrote"):
        site.build_site(course.run, course.output, root=course.root)
    assert (course.output / "thesis.tex").read_text() == "mine"


def test_prepared_copies_are_refused(course):
    nbformat.write(_notebook("00_first", "00 · The first", executed=False),
                   course.run / "00_first.ipynb")
    with pytest.raises(site.SiteError, match="prepared, not executed"):
        site.build_site(course.run, course.output, root=course.root)


def test_the_latest_run_is_the_default_and_no_run_says_what_to_do(tmp_path):
    with pytest.raises(site.SiteError, match="make course"):
        site.latest_run(tmp_path)
    for name in ("smoke", "full"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.md").write_text("# Course report\n")
    assert site.latest_run(tmp_path) == tmp_path / "full"


def test_course_site_without_a_run_exits_2_with_the_next_step(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["site"]) == 2
    assert "run `make course`" in capsys.readouterr().err


def test_timings_of_an_unknown_kind_are_refused(tmp_path):
    path = tmp_path / "timings.csv"
    path.write_text("notebook,kind,device,profile,backend,seconds,date,source\n"
                    "00_first,tpu,a TPU,full,jax,60,2026-11-24,a test\n")
    with pytest.raises(site.SiteError, match="gpu or cpu, not tpu"):
        site.read_timings(path)


def test_every_notebook_of_the_course_has_a_summary_in_the_readme():
    summaries = site.readme_summaries((ROOT / "README.md").read_text())
    numbers = [path.name[:2] for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    assert sorted(summaries) == numbers


def test_the_committed_timings_name_notebooks_of_the_course():
    timings = site.read_timings(ROOT / "site" / "timings.csv")
    stems = {path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert set(timings["notebook"]) <= stems
    assert timings["source"].str.len().gt(0).all()


@pytest.mark.parametrize(("titles", "expected"), [
    ({"suptitle": "Filters  of\nthe first layer", "axes": ["a", "b"]},
     "Filters of the first layer"),
    ({"axes": ["Loss", "Accuracy", "Loss"]}, "Loss; Accuracy"),
    ({"axes": [""]}, ""),
])
def test_a_figure_is_described_by_its_titles(titles, expected):
    fig, axes = plt.subplots(1, len(titles["axes"]), squeeze=False)
    for ax, title in zip(axes[0], titles["axes"], strict=True):
        ax.set_title(title)
    if "suptitle" in titles:
        fig.suptitle(titles["suptitle"])
    assert figure_alt.figure_title(fig) == expected
    plt.close(fig)


def test_a_displayed_figure_carries_its_title_as_alt_text():
    shell = SimpleNamespace(display_formatter=SimpleNamespace(
        format=lambda obj, include=None, exclude=None: ({"image/png": "..."}, {})))
    figure_alt.attach_titles(shell)
    fig, ax = plt.subplots()
    ax.set_title("Accuracy by epoch")
    assert shell.display_formatter.format(fig)[1] == {"image/png": {"alt": "Accuracy by epoch"}}
    assert shell.display_formatter.format("text")[1] == {}
    plt.close(fig)


def test_an_executed_copy_cut_short_is_named_with_what_to_do(course):
    copy = course.run / "00_first.ipynb"
    copy.write_text(copy.read_text()[:200])  # the run was stopped as it wrote the copy
    with pytest.raises(site.SiteError, match="00_first.ipynb cannot be read as a notebook") as err:
        site.build_site(course.run, course.output, root=course.root)
    assert "course run --only 00" in str(err.value)


def test_a_site_folder_that_cannot_be_written_is_a_sentence(course, monkeypatch, capsys):
    a_file = course.root / "a_file"
    a_file.write_text("")
    monkeypatch.chdir(course.root)
    assert cli.main(["site", "--run", str(course.run), "--output", str(a_file / "site")]) == 2
    assert f"cannot build the site in {a_file / 'site'}" in capsys.readouterr().err
