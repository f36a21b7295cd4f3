"""Feedback reports (graders/course/report/): the summary on top of nbgrader's feedback page.

The slow tests grade the shipped sample class (alice_right, bob_partly_wrong, carol_empty) once,
through the real ``nbgrader autograde`` and ``nbgrader generate_feedback``, and check the
reports against the gradebook nbgrader wrote. The fast tests build autograded notebooks by hand
(the released notebook with verdicts in its test cells) to cover bad input without a kernel.
"""
import base64
import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import run_nbgrader
from graders.course import report as rep
from graders.kernel.hints import HINTS
from graders.instructions import INSTRUCTIONS, NOTEBOOKS, for_notebook
from graders.kernel.result import RESULT_MIMETYPE, CheckResult
from helpers import ASSIGNMENT, RELEASE, REPO, SAMPLES_DIR, SOURCE
from variants import SAMPLES

FILES = Path(__file__).parent / "files" / "report"
SCRIPT = "<script>alert('pwned')</script>"


# -- reading the HTML back -------------------------------------------------------------------
ROW = re.compile(r'<tr class="rr-row (rr-pass|rr-fail)" data-instruction="([^"]+)" '
                 r'data-points="([^"]+)" data-max-points="([^"]+)" data-passed="(true|false)">')


def rows(page: str) -> dict:
    """instruction id -> (points, max points, passed) as the report shows them."""
    return {m[2]: (float(m[3]), float(m[4]), m[5] == "true") for m in ROW.finditer(section(page))}


def section(page: str) -> str:
    assert page.count(rep.BEGIN) == 1 and page.count(rep.END) == 1, "one report section"
    return page[page.index(rep.BEGIN):page.index(rep.END)]


def images(page: str) -> dict:
    """figure class -> list of embedded PNGs (bytes)."""
    out = {}
    for m in re.finditer(r'<figure class="rr-fig (rr-[a-z-]+)">\s*<img [^>]*src="data:image/png;'
                         r'base64,([A-Za-z0-9+/=]+)"', section(page)):
        out.setdefault(m[1], []).append(base64.b64decode(m[2]))
    return out


def page_of(course: Path, student: str, notebook: str) -> str:
    return (course / "feedback" / student / ASSIGNMENT / f"{notebook}.html").read_text()


# -- fast: hand-made autograded notebooks ----------------------------------------------------
def png_bytes() -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2), dpi=50)
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1], [0, 1], label="a")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def autograded(course: Path, student: str, notebook: str, results: dict | None = None,
               png=None) -> Path:
    """The released notebook as nbgrader autograde leaves it: a verdict in each test cell."""
    results = results or {}
    nb = nbformat.read(RELEASE / f"{notebook}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        instruction = next((i for i in for_notebook(notebook) if i.test_cell == gid), None)
        if instruction is not None:
            result = results.get(instruction.id) or CheckResult(
                instruction.id, instruction.title, instruction.points, instruction.points, True,
                "Right.")
            cell.outputs = [nbformat.v4.new_output(
                "display_data", data={RESULT_MIMETYPE: result.to_json()})]
        if png is not None and gid == "vanishing_model":
            data = base64.b64encode(png).decode() if isinstance(png, bytes) else png
            cell.outputs = [nbformat.v4.new_output("display_data", data={
                "image/png": data, "text/plain": "<Figure size 640x480 with 1 Axes>"})]
    folder = course / "autograded" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SOURCE / rep.HISTORY_FILE, folder / rep.HISTORY_FILE)
    path = folder / f"{notebook}.ipynb"
    nbformat.write(nb, path)
    return path


def failed(instruction_id: str, message: str, hint: str | None = None) -> CheckResult:
    i = INSTRUCTIONS[instruction_id]
    return CheckResult(i.id, i.title, 0.0, i.points, False, message, hint)


def test_student_text_is_escaped_and_hints_point_to_the_chapter(tmp_path):
    autograded(tmp_path, "mallory", "exploding_gradients", {
        "exploding_step2": failed("exploding_step2",
                                  f"Your cell stopped with `NameError: {SCRIPT}`: {SCRIPT} & <b>",
                                  "exploding_clipnorm")})
    autograded(tmp_path, "mallory", "vanishing_gradients",
               png='"><script>alert(1)</script>')  # not a PNG: never embedded
    rep.write_reports(course=tmp_path, student="mallory")
    page = page_of(tmp_path, "mallory", "exploding_gradients")
    assert "<script" not in page.lower()
    assert html.escape(SCRIPT).replace("&#x27;", "&#39;") in page
    assert "&amp; &lt;b&gt;" in page
    assert "which clips each component to" in page and "<em>Step 2</em>" in page
    assert rows(page) == {"exploding_step1": (2, 2, True), "exploding_step2": (0, 2, False)}
    vanishing = page_of(tmp_path, "mallory", "vanishing_gradients")
    assert "<script" not in vanishing.lower()
    assert "Your solution cell showed no plot." in vanishing
    assert list(images(vanishing)) == ["rr-expected-plot"]


def test_inserted_once_on_top_of_nbgrader_page_and_replaced_when_run_again(tmp_path):
    autograded(tmp_path, "alice", "exploding_gradients")
    page_path = tmp_path / "feedback" / "alice" / ASSIGNMENT / "exploding_gradients.html"
    page_path.parent.mkdir(parents=True)
    shutil.copy(FILES / "nbgrader_page.html", page_path)

    rep.write_reports(course=tmp_path, student="alice")
    first = page_path.read_text()
    assert first.index("<body>") < first.index(rep.BEGIN) < first.index('id="nbgrader-notebook"')
    assert rows(first)["exploding_step2"] == (2, 2, True)

    rep.write_reports(course=tmp_path, student="alice")
    assert page_path.read_text() == first  # idempotent

    autograded(tmp_path, "alice", "exploding_gradients",
               {"exploding_step2": failed("exploding_step2", "Regraded: wrong.")})
    rep.write_reports(course=tmp_path, student="alice")
    again = page_path.read_text()
    assert rows(again)["exploding_step2"] == (0, 2, False) and "Regraded: wrong." in again
    assert again.count('id="nbgrader-notebook"') == 1
    assert again.replace(section(again), "") == first.replace(section(first), "")


def test_bad_notebooks_get_a_report_and_never_stop_the_others(tmp_path, caplog):
    autograded(tmp_path, "alice", "exploding_gradients")
    autograded(tmp_path, "alice", "vanishing_gradients", png=png_bytes())
    broken = autograded(tmp_path, "bob", "exploding_gradients")
    shutil.copy(FILES / "corrupt.ipynb", broken)  # bob: one corrupt, one missing notebook
    (tmp_path / "submitted" / "carol" / ASSIGNMENT).mkdir(parents=True)  # autograde failed
    dan = autograded(tmp_path, "dan", "exploding_gradients")  # a test cell without a verdict
    nb = nbformat.read(dan, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_exploding_step1":
            cell.outputs = [nbformat.v4.new_output("error", ename="DeadKernelError",
                                                   evalue=f"Kernel died {SCRIPT}", traceback=[])]
    nbformat.write(nb, dan)
    autograded(tmp_path, "dan", "vanishing_gradients", png=png_bytes())

    paths = rep.write_reports(course=tmp_path)
    assert len(paths) == 4 * len(NOTEBOOKS)
    dan = page_of(tmp_path, "dan", "exploding_gradients")
    assert rows(dan) == {"exploding_step1": (0, 2, False), "exploding_step2": (2, 2, True)}
    assert "Not graded: DeadKernelError: Kernel died &lt;script&gt;" in dan
    assert "<script" not in dan
    for student in ("alice", "bob", "carol"):
        for notebook in NOTEBOOKS:
            page = page_of(tmp_path, student, notebook)
            assert f'content="{rep.GENERATOR}"' in page  # standalone: no nbgrader page
            assert "http://" not in page and "https://" not in page  # self-contained
            got = rows(page)
            assert set(got) == {i.id for i in for_notebook(notebook)}
            if student == "alice":
                assert all(passed for _, _, passed in got.values())
            else:
                assert "could not be read" in page
                assert all(points == 0 and not passed for points, _, passed in got.values())
    assert "NotJSONError" in page_of(tmp_path, "bob", "exploding_gradients")
    assert "no graded copy of vanishing_gradients.ipynb" in page_of(tmp_path, "bob",
                                                                     "vanishing_gradients")
    alice = images(page_of(tmp_path, "alice", "vanishing_gradients"))
    assert alice["rr-student-plot"] == [png_bytes()] and len(alice["rr-expected-plot"]) == 1
    assert any("NotJSONError" in r.getMessage() for r in caplog.records)
    assert rep.write_reports(course=tmp_path, student="nobody") == []
    assert not (tmp_path / "feedback" / "nobody").exists()


# -- slow: the sample class through real nbgrader --------------------------------------------
@pytest.fixture(scope="module")
def graded_course(tmp_path_factory) -> Path:
    """The sample class released, autograded and given feedback by nbgrader, then reported.

    Module-scoped (grading takes minutes), so it builds what the ``released_course`` fixture
    of conftest.py builds, in a module-level temporary folder.
    """
    course = tmp_path_factory.mktemp("report") / "course"
    course.mkdir()
    shutil.copytree(REPO / "source", course / "source")
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    for args in (("generate_assignment", ASSIGNMENT, "--force"),):
        result = run_nbgrader(course, *args)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for student in SAMPLES:
        shutil.copytree(SAMPLES_DIR / student / ASSIGNMENT,
                        course / "submitted" / student / ASSIGNMENT)
    for args in (("autograde", ASSIGNMENT), ("generate_feedback", ASSIGNMENT)):
        result = run_nbgrader(course, *args)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    paths = rep.write_reports(course=course)
    assert len(paths) == len(SAMPLES) * len(NOTEBOOKS)
    return course


@pytest.mark.slow
def test_points_follow_the_gradebook_when_the_instructor_changed_them(graded_course, tmp_path):
    """After nbgrader autograded bob (0 of 2 on step 2, clipnorm), the instructor gives him 1
    point by hand in formgrader (``grade.manual_score``): does his report show 1, say the
    instructor set it, keep the autograder's message, and count it in the notebook's total?"""
    student = "bob_partly_wrong"
    course = tmp_path / "course"
    shutil.copytree(graded_course / "autograded" / student, course / "autograded" / student)
    shutil.copy(graded_course / "gradebook.db", course / "gradebook.db")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("test_exploding_step2", "exploding_gradients", ASSIGNMENT, student)
        assert (grade.auto_score, grade.manual_score, grade.score) == (0, None, 0)
        grade.manual_score = 1.0  # what formgrader does when the instructor types 1
        gb.db.commit()
        assert gb.find_submission_notebook("exploding_gradients", ASSIGNMENT,
                                           student).score == 3
    rep.write_reports(course=course, student=student)
    page = page_of(course, student, "exploding_gradients")
    assert rows(page) == {"exploding_step1": (2, 2, True), "exploding_step2": (1, 2, False)}
    text = section(page)
    assert "The autograder gave 0 points; your instructor set the score to 1" in text
    assert "you clipped with clipnorm=3" in text  # the autograder's message stays
    assert 'data-points="3" data-max-points="4"' in text
    # the same gradebook without the manual score: the autograder's 0 again
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.find_grade("test_exploding_step2", "exploding_gradients", ASSIGNMENT,
                      student).manual_score = None
        gb.db.commit()
    rep.write_reports(course=course, student=student)
    again = page_of(course, student, "exploding_gradients")
    assert rows(again)["exploding_step2"] == (0, 2, False)
    assert "your instructor set" not in again


@pytest.mark.slow
def test_scores_per_instruction_are_the_gradebooks(graded_course):
    with Gradebook(f"sqlite:///{graded_course / 'gradebook.db'}") as gb:
        for student in SAMPLES:
            for notebook in NOTEBOOKS:
                expected = {}
                for i in for_notebook(notebook):
                    grade = gb.find_grade(i.test_cell, notebook, ASSIGNMENT, student)
                    expected[i.id] = (grade.score, grade.max_score, grade.score == grade.max_score)
                page = page_of(graded_course, student, notebook)
                assert rows(page) == expected, (student, notebook)
                total = gb.find_submission_notebook(notebook, ASSIGNMENT, student)
                assert (f'data-points="{total.score:g}" data-max-points="{total.max_score:g}"'
                        in section(page))


@pytest.mark.slow
def test_bob_reads_the_clipnorm_message_and_its_hint(graded_course):
    page = page_of(graded_course, "bob_partly_wrong", "exploding_gradients")
    got = rows(page)
    assert got["exploding_step1"] == (2, 2, True) and got["exploding_step2"] == (0, 2, False)
    text = section(page)
    assert "you clipped with clipnorm=3" in text
    assert str(rep._inline(HINTS["exploding_clipnorm"], rich=True)) in text
    vanishing = section(page_of(graded_course, "bob_partly_wrong", "vanishing_gradients"))
    assert str(rep._inline(HINTS["vanishing_plotted_loss"], rich=True)) in vanishing


@pytest.mark.slow
def test_carol_lost_every_instruction(graded_course):
    for notebook in NOTEBOOKS:
        page = page_of(graded_course, "carol_empty", notebook)
        got = rows(page)
        assert set(got) == {i.id for i in for_notebook(notebook)}
        assert all(points == 0 and not passed for points, _, passed in got.values())
        assert "NotImplementedError" in section(page)
    vanishing = page_of(graded_course, "carol_empty", "vanishing_gradients")
    assert "Your solution cell showed no plot." in vanishing
    assert list(images(vanishing)) == ["rr-expected-plot"]


@pytest.mark.slow
def test_alice_sees_her_plot_next_to_the_expected_one(graded_course):
    nb = nbformat.read(graded_course / "autograded" / "alice_right" / ASSIGNMENT /
                       "vanishing_gradients.ipynb", as_version=4)
    shown = [base64.b64decode(o.data["image/png"]) for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade_id") == "vanishing_model"
             for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(shown) == 1
    page = page_of(graded_course, "alice_right", "vanishing_gradients")
    figs = images(page)
    assert figs["rr-student-plot"] == shown
    (expected,) = figs["rr-expected-plot"]
    assert expected.startswith(b"\x89PNG") and expected != shown[0]
    size = lambda png: (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))
    assert size(expected) == size(shown[0])
    assert all(r[2] for r in rows(page).values())
    assert 'class="rr-plots"' not in section(page_of(graded_course, "alice_right",
                                                       "exploding_gradients"))


@pytest.mark.slow
def test_reports_again_change_nothing_and_keep_nbgraders_page(graded_course):
    before = {p: p.read_text() for p in (graded_course / "feedback").rglob("*.html")}
    rep.write_reports(course=graded_course)
    for path, text in before.items():
        assert path.read_text() == text, path
        body = text.index("<body>")
        assert body < text.index(rep.BEGIN) < text.index(rep.END) < text.index("(Score: ")


@pytest.mark.slow
def test_student_error_text_is_escaped_in_a_real_page(graded_course, tmp_path):
    student = "bob_partly_wrong"
    for folder in ("autograded", "feedback"):
        shutil.copytree(graded_course / folder / student, tmp_path / folder / student)
    path = tmp_path / "autograded" / student / ASSIGNMENT / "exploding_gradients.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(RESULT_MIMETYPE)
            if payload is not None:
                verdict = json.loads(payload) if isinstance(payload, str) else dict(payload)
                if not verdict["passed"]:
                    verdict["message"] = f"Your cell stopped with `KeyError: {SCRIPT}`: {SCRIPT}"
                    output.data[RESULT_MIMETYPE] = json.dumps(verdict)
    nbformat.write(nb, path)
    rep.write_reports(course=tmp_path, student=student)
    text = section(page_of(tmp_path, student, "exploding_gradients"))
    assert "<script" not in text.lower()
    assert text.count("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;") == 2


# -- the page as a browser shows it ----------------------------------------------------------
def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def screenshot(page: Path, png: Path, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}",
         "--window-size=1200,1600", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180)


@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (apt-get install -y "
                    "chromium): the report cannot be rendered headlessly here")
def test_report_renders_in_a_browser(graded_course, tmp_path):
    from PIL import Image

    page = graded_course / "feedback" / "bob_partly_wrong" / ASSIGNMENT / "vanishing_gradients.html"
    png = tmp_path / "bob_vanishing.png"
    result = screenshot(page, png, tmp_path / "profile")
    assert result.returncode == 0 and png.is_file(), result.stderr[-2000:]
    image = Image.open(png).convert("RGB")
    assert image.size == (1200, 1600)
    pixels = list(image.getdata())
    not_white = sum(1 for p in pixels if min(p) < 235) / len(pixels)
    assert not_white > 0.05, f"the screenshot is nearly blank ({not_white:.1%} ink)"
    assert len(set(pixels)) > 100  # text, marks, plots: not one flat colour
    red = sum(1 for r, g, b in pixels if r > 150 and g < 90 and b < 90)
    green = sum(1 for r, g, b in pixels if g > 100 and r < 90 and b < 100)
    assert red and green, "the pass and fail marks are visible"


# -- math: MathML made when the page is built, no MathJax ------------------------------------
#: A formula in a markdown cell's source: $$...$$ or $...$ (the notebooks use only these).
FORMULA = re.compile(r"\$\$.+?\$\$|\$[^$]+?\$", re.DOTALL)


def _outside_code(page: str) -> str:
    """The page without its code listings and <style>/<script> blocks (where `$` is code)."""
    page = re.sub(r"<(pre|style|script|code)\b.*?</\1>", "", page, flags=re.DOTALL | re.I)
    return re.sub(r'<div class="highlight[^"]*">.*?</div>', "", page, flags=re.DOTALL)


def test_math_in_headings_outputs_and_unsupported_tex_by_the_feedback_exporter():
    """Without nbgrader: a notebook with a formula in a heading (nbconvert re-parses headings
    for their anchors), a `text/latex` output (IPython's Math), TeX that latex2mathml cannot
    convert, and `$` in code. Each formula MathML, the unknown one kept as readable source,
    code untouched, no MathJax script."""
    from graders.course.mathml import FeedbackExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## The other side of $(W_a)^{t-1}$\n\n"
                                      "Clip at $\\lvert g \\rvert \\le 3$; "
                                      "$\\left( x$; `price = $5$`\n\n"
                                      "$$\\frac{\\partial L}{\\partial W}$$"),
        nbformat.v4.new_code_cell("Math(...)", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/latex": "$\\displaystyle \\sqrt{2}$",
                                  "text/plain": "<IPython.core.display.Math object>"})]),
    ]
    page, _ = FeedbackExporter(template_name="classic").from_notebook_node(nb)
    heading = re.search(r"<h2[^>]*>(.*?)</h2>", page, re.DOTALL)[1]
    assert heading.startswith("The other side of <math ") and "ns0:" not in heading
    assert len(re.findall(r"<math\b", page)) == 4  # heading, |g| <= 3, the fraction, sqrt(2)
    assert '<math display="block"' in page or 'display="block"' in page
    assert "<msqrt>" in page and "<mfrac>" in page
    assert '<code class="tex">\\left( x</code>' in page
    assert "<code>price = $5$</code>" in page
    assert "x-mathjax-config" not in page and not re.search(r"mathjax[^\"']*\.js", page, re.I)
    assert nb.cells[1].outputs[0].data.keys() == {"text/latex", "text/plain"}, "input kept"


@pytest.mark.slow
def test_feedback_pages_carry_their_formulas_as_mathml_and_load_no_mathjax(graded_course):
    """nbgrader's feedback template loads MathJax from a CDN and leaves the formulas as raw
    LaTeX for it: offline, or in an LMS's feedback zip, students saw `$\\hat y$`. With the course
    config's FeedbackExporter, does every page hold each formula of its notebook's markdown as a
    MathML element, no `$...$` left in the prose, and no script to load from anywhere?"""
    for student in SAMPLES:
        for notebook in NOTEBOOKS:
            released = nbformat.read(graded_course / "release" / ASSIGNMENT / f"{notebook}.ipynb",
                                     as_version=4)
            formulas = sum(len(FORMULA.findall(cell.source)) for cell in released.cells
                           if cell.cell_type == "markdown")
            assert formulas > 5, "the notebooks explain the gradients with formulas"
            page = page_of(graded_course, student, notebook)
            mathml = re.findall(r'<math\b[^>]*xmlns="http://www.w3.org/1998/Math/MathML"', page)
            assert len(mathml) >= formulas, f"{student}/{notebook}: {len(mathml)} of {formulas}"
            assert 'class="tex"' not in page, "every formula converted (none left as source)"
            assert "ns0:" not in page and "rnn-course-formula" not in page
            assert "x-mathjax-config" not in page and "mathjax.js" not in page.lower()
            assert not re.findall(r"<script[^>]+src=", page, flags=re.I), "nothing loaded"
            raw = FORMULA.findall(html.unescape(re.sub(r"<[^>]+>", "", _outside_code(page))))
            assert not raw, f"{student}/{notebook}: LaTeX left for MathJax: {raw[:3]}"


@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (apt-get install -y "
                    "chromium): the page cannot be rendered headlessly here")
def test_feedback_formulas_render_as_math_offline_in_a_browser(graded_course, tmp_path):
    """Chromium with every host unresolvable: are the page's formulas laid out as math (a
    fraction taller than a line of the paragraph around it), not as flat text?"""
    page = tmp_path / "page.html"
    probe = ("<script>const m=[...document.querySelectorAll('math')];"
             "const f=document.querySelector('mfrac').getBoundingClientRect().height;"
             "const line=parseFloat(getComputedStyle(document.querySelector('mfrac')"
             ".closest('p,div')).fontSize);"
             "document.title='laid-out:'+m.filter(x=>x.getBoundingClientRect().width>0).length+"
             "'/'+m.length+' fraction:'+(f/line).toFixed(2)+' mathjax:'+(typeof MathJax);"
             "</script>")
    source = page_of(graded_course, "alice_right", "vanishing_gradients")
    page.write_text(source.replace("</body>", probe + "</body>"))
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180)
    title = re.search(r"<title>laid-out:(\d+)/(\d+) fraction:([\d.]+) mathjax:(\w+)</title>",
                      result.stdout)
    assert title, result.stderr[-2000:]
    laid_out, total, fraction, mathjax = int(title[1]), int(title[2]), float(title[3]), title[4]
    assert total > 5 and laid_out == total
    assert fraction > 1.3, f"a fraction {fraction} font sizes tall: not laid out as math"
    assert mathjax == "undefined"


def test_points_come_from_the_courses_postgresql_gradebook_into_its_own_folders(
        tmp_path, postgres_url, monkeypatch):
    """A course whose nbgrader_config.py names a PostgreSQL gradebook and its own folder names
    (`graded/`, `returned/`): `python -m graders.course.report` used to look for
    `gradebook.db` beside the config, find none, and silently show the notebooks' verdicts.
    Does the page sit where the course's config says, with the instructor's manual score from
    the PostgreSQL gradebook?"""
    bindir = Path(__import__("sys").executable).parent  # a new gradebook runs `alembic`
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ.get('PATH', '')}")
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.db_url = {postgres_url!r}\n"
        "c.CourseDirectory.autograded_directory = 'graded'\n"
        "c.CourseDirectory.feedback_directory = 'returned'\n")
    with Gradebook(postgres_url) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook("exploding_gradients", ASSIGNMENT)
        for instruction in for_notebook("exploding_gradients"):
            gb.add_grade_cell(instruction.test_cell, "exploding_gradients", ASSIGNMENT,
                              max_score=instruction.points, cell_type="code")
        gb.add_student("alice")
        with gb.db.no_autoflush:  # nbgrader builds the submission's rows before adding them
            gb.add_submission(ASSIGNMENT, "alice")
        grade = gb.find_grade  # the autograder's 1 on step 1; the instructor's 1.5 on step 2
        grade("test_exploding_step1", "exploding_gradients", ASSIGNMENT, "alice").auto_score = 1
        grade("test_exploding_step2", "exploding_gradients", ASSIGNMENT,
              "alice").manual_score = 1.5
        gb.db.commit()
    autograded(course, "alice", "exploding_gradients")
    (course / "autograded").rename(course / "graded")

    assert rep.main(["--course", str(course), "--student", "alice"]) == 0
    assert not (course / "gradebook.db").exists() and not (course / "feedback").exists()
    page = (course / "returned" / "alice" / ASSIGNMENT / "exploding_gradients.html").read_text()
    assert rows(page)["exploding_step2"][:2] == (1.5, 2)
    assert rows(page)["exploding_step1"][:2] == (1, 2)  # the notebook's verdict says 2
