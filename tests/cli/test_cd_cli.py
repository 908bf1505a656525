"""`fwa cd-diagram`'s complete output (pairwise, control, warnings, omnibus gate; CSV, LaTeX, wide
input), LaTeX tables of the other analysis commands, and options accepted only where they act."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs as sp
from clilib import fwa, jdoc, said
from synthetic import CRITS, write_study

DENSITIES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """12 blocks (densities) where the criteria's accuracies follow their order in CRITS plus noise."""
    root = tmp_path_factory.mktemp("cdstudy")
    order = {c: i for i, c in enumerate(CRITS)}

    def acc(crit, density, seed):
        noise = np.random.default_rng(int(density * 1000) * 10 + seed).normal(0, 0.02)
        return 0.9 - 0.03 * order[crit] + noise

    write_study(root, seeds=(0, 1), densities=DENSITIES, n_updates=1, baselines=False, acc=acc)
    return root


def test_json_has_pairwise_warnings_and_the_omnibus_decision(study):
    d = jdoc("cd-diagram", study)
    assert d["omnibus"]["test"] == "friedman" and d["omnibus"]["reject"] == d["significant"]
    assert d["significant"] == (d["friedman"]["pvalue"] < 0.05)
    assert isinstance(d["warnings"], list)
    assert d["pairwise"]["test"] == "nemenyi" and d["pairwise"]["methods"] == d["methods"]
    # the p matrix is scikit-posthocs' Nemenyi on the blocks x methods table of this study's scores
    rows = jdoc("accuracy", study)["rows"]
    table = pd.DataFrame(rows).pivot(index="density", columns="criterion", values="mean")[d["methods"]]
    ref = sp.posthoc_nemenyi_friedman(table.to_numpy())
    np.testing.assert_allclose(np.array(d["pairwise"]["p"]), ref.to_numpy(), atol=1e-9)


def test_control_gives_bonferroni_dunn(study):
    d = jdoc("cd-diagram", study, "--control", CRITS[0])
    c = d["control"]
    assert c["method"] == CRITS[0] and c["test"] == "bonferroni-dunn"
    assert set(c["p"]) == set(d["methods"]) - {CRITS[0]}
    for m, p in c["p"].items():
        assert c["significant"][m] == (p < 0.05) == (abs(d["avg_ranks"][m] - d["avg_ranks"][CRITS[0]]) > c["cd"])


def test_unknown_control_is_one_line(study):
    r = fwa("cd-diagram", study, "--control", "nope")
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        f"error: control 'nope' is not one of the methods: {', '.join(sorted(CRITS))}"
    ]


def test_wilcoxon_holm_pairwise(study):
    d = jdoc("cd-diagram", study, "--test", "wilcoxon-holm")
    assert d["pairwise"]["test"] == "wilcoxon-holm" and d["cd"] is None


def test_csv_is_tidy_ranks_cliques_pairwise_and_control(study):
    r = fwa("cd-diagram", study, "--format", "csv", "--control", CRITS[1])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(__import__("io").StringIO(r.stdout), keep_default_na=False)
    assert list(df.columns) == ["kind", "method", "other", "value"]
    k = len(CRITS)
    counts = df["kind"].value_counts().to_dict()
    assert counts["rank"] == k and counts["pairwise"] == k * (k - 1) // 2 and counts["control"] == k - 1
    d = jdoc("cd-diagram", study)
    members = df[df.kind == "clique"]
    assert [sorted(g.method) for _, g in members.groupby("value")] == [sorted(q) for q in d["cliques"]]


def check_latex(text: str) -> None:
    """A LaTeX-free parse of a booktabs table: balanced environments and braces, rules in order,
    every row with as many cells as the column spec, nothing special left unescaped."""
    envs = re.findall(r"\\(begin|end)\{(\w+)\}", text)
    stack = []
    for kind, name in envs:
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} does not close the open environment"
    assert not stack, f"unclosed: {stack}"
    depth = 0
    for i, ch in enumerate(text):
        if ch in "{}" and (i == 0 or text[i - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    spec = re.search(r"\\begin\{tabular\}\{([lrc]+)\}", text).group(1)
    body = text[text.index(r"\toprule") : text.index(r"\bottomrule")]
    assert text.index(r"\toprule") < text.index(r"\midrule") < text.index(r"\bottomrule")
    rows = [ln for ln in body.splitlines()[1:] if ln.strip() != r"\midrule"]
    assert rows
    for ln in rows:
        assert ln.endswith(r" \\"), ln
        cells = re.split(r"(?<!\\)&", ln[:-3])
        assert len(cells) == len(spec), f"{len(cells)} cells for spec {spec}: {ln}"
        for cell in cells:
            assert cell.count("$") % 2 == 0, cell
            outside = re.sub(r"\$[^$]*\$", "", cell)
            assert not re.search(r"(?<!\\)[_%#&]", outside), f"unescaped special character in {cell!r}"


def test_latex_of_cd_diagram_bolds_the_best(study):
    r = fwa("cd-diagram", study, "--format", "latex")
    assert r.exit_code == 0, r.output
    check_latex(r.stdout)
    d = jdoc("cd-diagram", study)
    best = d["methods"][0]
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith(best.replace("_", r"\_") + " "))
    assert line.count(r"\mathbf") == 2  # the best rank; here also the best mean score
    assert r"\usepackage" not in r.stdout and r"\begin{table}" in r.stdout


@pytest.mark.parametrize(
    "cmd",
    [
        ["accuracy"],
        ["update-period"],
        ["jaccard"],
        ["jaccard", "--at", "end"],
        ["itop"],
        ["never-removed"],
        ["ls"],
        ["validate"],
        ["claims"],
    ],
)
def test_every_table_command_prints_parseable_latex(study, cmd):
    r = fwa(*cmd, study, "--format", "latex")
    assert r.exit_code in (0, 1), r.output  # validate exits 1 on problems; the table still prints
    check_latex(r.stdout)
    assert r.stdout.isascii()  # plain pdflatex stops at a raw λ or −: fwa's symbols become commands


@pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="pdflatex not installed (the LaTeX-free parse above still runs)"
)
def test_latex_tables_compile_with_pdflatex(study, tmp_path):
    for i, cmd in enumerate((["cd-diagram", "--control", CRITS[0]], ["accuracy"], ["jaccard"], ["claims"])):
        (tmp_path / f"t{i}.tex").write_text(fwa(*cmd, study, "--format", "latex").stdout)
    inputs = "\n".join(f"\\input{{t{i}.tex}}" for i in range(4))
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\\usepackage{booktabs}\\usepackage[paperwidth=30in,paperheight=30in]{geometry}"
        f"\\begin{{document}}\n{inputs}\n\\end{{document}}\n"
    )
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0


def test_accuracy_latex_is_wide_with_the_best_per_density_in_bold(study):
    r = fwa("accuracy", study, "--format", "latex")
    check_latex(r.stdout)
    header = next(ln for ln in r.stdout.splitlines() if ln.startswith("model"))
    assert header.count("density=") == len(DENSITIES)
    rows = jdoc("accuracy", study)["rows"]
    best = pd.DataFrame(rows).loc[lambda f: f.groupby("density")["mean"].idxmax()]
    bold = r.stdout.count(r"\mathbf")
    assert bold == len(best)  # one per density (no ties in noisy scores)


def test_latex_parser_catches_broken_tables():
    good = (
        "\\begin{table}\n\\begin{tabular}{lr}\n\\toprule\na & b \\\\\n\\midrule\nx & $1$ \\\\\n"
        "\\bottomrule\n\\end{tabular}\n\\end{table}\n"
    )
    check_latex(good)
    for bad in (
        good.replace("x & $1$", "x & 1 & 2"),
        good.replace("x &", "x_y &"),
        good.replace("\\end{table}", ""),
        good.replace("$1$", "$1"),
    ):
        with pytest.raises(AssertionError):
            check_latex(bad)


# ------------------------------------------------------------------ --input: wide tables, the omnibus gate


def test_wide_input_is_detected_with_a_note_and_equals_the_long_form(tmp_path):
    rng = np.random.default_rng(1)
    wide = pd.DataFrame(rng.normal(size=(10, 4)) + np.arange(4), columns=["a", "b", "c", "d"])
    wide.insert(0, "dataset", [f"ds{i}" for i in range(10)])
    wide.to_csv(tmp_path / "wide.csv", index=False)
    long = wide.melt(id_vars="dataset", var_name="method", value_name="score").rename(columns={"dataset": "block"})
    long.to_csv(tmp_path / "long.csv", index=False)
    r = fwa("cd-diagram", "--input", tmp_path / "wide.csv", "--format", "json")
    assert r.exit_code == 0, r.output
    assert "read as a wide table, blocks named by column 'dataset', methods a, b, c, d" in r.stderr
    assert json.loads(r.stdout)["avg_ranks"] == jdoc("cd-diagram", "--input", tmp_path / "long.csv")["avg_ranks"]
    quiet = fwa("cd-diagram", "--input", tmp_path / "wide.csv", "--wide", "--format", "json")
    assert "wide table" not in quiet.stderr and json.loads(quiet.stdout)["n_blocks"] == 10


def test_wide_input_with_text_scores_is_one_line(tmp_path):
    pd.DataFrame({"ds": ["x", "y"], "a": [1.0, 2.0], "b": ["high", "low"]}).to_csv(tmp_path / "t.csv", index=False)
    r = fwa("cd-diagram", "--input", tmp_path / "t.csv", "--wide")
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "column(s) ['b'] hold text" in r.output


def test_cliques_and_cd_bar_vanish_without_omnibus_rejection(tmp_path):
    # each method takes each rank equally often: Friedman's statistic is 0 and p = 1
    rows = [np.roll(np.arange(4.0), s) for s in range(4) for _ in range(3)]
    pd.DataFrame(rows, columns=list("abcd")).to_csv(tmp_path / "flat.csv", index=False)
    d = jdoc("cd-diagram", "--input", tmp_path / "flat.csv", "--wide")
    assert d["significant"] is False and d["cliques"] == []
    assert any("not below α" in w for w in d["warnings"])
    forced = jdoc("cd-diagram", "--input", tmp_path / "flat.csv", "--wide", "--allow-insignificant")
    assert forced["cliques"] == [["a", "b", "c", "d"]] and forced["allow_insignificant"] is True
    r = fwa("cd-diagram", "--input", tmp_path / "flat.csv", "--wide", "--plot", tmp_path / "flat.png")
    assert r.exit_code == 0 and (tmp_path / "flat.png").exists()
    assert "does not reject" in r.stderr and "warning:" in r.stderr


def test_highlight_draws_and_needs_plot(study, tmp_path):
    r = fwa("cd-diagram", study, "--highlight", CRITS[0])
    assert r.exit_code == 2 and "no --plot was given" in said(r)
    r = fwa("cd-diagram", study, "--highlight", CRITS[0], "--plot", tmp_path / "cd.png")
    assert r.exit_code == 0, r.output
    import matplotlib.image as mpimg

    img = mpimg.imread(tmp_path / "cd.png")
    assert img.shape[1] > img.shape[0] and img[..., :3].std() > 0.05  # a wide, non-blank diagram


# ------------------------------------------------------------------ options only where they act


@pytest.mark.parametrize("cmd", ["ls", "validate", "claims"])
def test_commands_that_draw_nothing_refuse_plot(study, tmp_path, cmd):
    # the contract gives every analysis command --plot: these accept the name and refuse it, never ignore it
    r = fwa(cmd, study, "--plot", tmp_path / "x.png")
    assert r.exit_code == 2 and f"fwa {cmd} draws no figure" in said(r)
    assert not (tmp_path / "x.png").exists()


def test_jaccard_std_acts_only_with_a_plot_of_first_or_end(study, tmp_path):
    r = fwa("jaccard", study, "--at", "time", "--std")
    assert r.exit_code == 2 and "--at time already gives the std" in said(r)
    r = fwa("jaccard", study, "--std")
    assert r.exit_code == 2 and "no --plot was given" in said(r)
    r = fwa("jaccard", study, "--std", "--plot", tmp_path / "std.png")
    assert r.exit_code == 0, r.output


def test_filters_are_declared_once_in_the_cli_module():
    """Over every module of fwa's command line (fwanalysis/cli.py and the command modules of fwanalysis/commands)."""
    root = Path(__file__).resolve().parents[2] / "fwanalysis"
    modules = [root / "cli.py", *sorted((root / "commands").glob("*.py"))]
    text = "\n".join(p.read_text() for p in modules)

    def declarations(flag):  # the formatter may put the flag on the line after `typer.Option(`
        return len(re.findall(r"typer\.Option\(\s*" + re.escape(f'"{flag}"'), text))

    assert declarations("--density-max") == 1 and declarations("--model") == 1


def test_accuracy_latex_with_a_list_valued_setting(tmp_path):
    """A setting that is a list (lr_milestones) and differs between runs keeps their rows apart in the wide
    LaTeX table as it does in JSON (it crashed with 'unhashable type: list' before)."""
    for milestones in ([1, 2], [2]):
        write_study(
            tmp_path,
            seeds=(0, 1),
            densities=(0.1, 0.5),
            n_updates=1,
            baselines=False,
            extra={"lr_milestones": milestones},
        )
    r = fwa("accuracy", tmp_path, "--format", "latex")
    assert r.exit_code == 0, r.output
    check_latex(r.stdout)
    body = [ln for ln in r.stdout.splitlines() if "&" in ln and not ln.startswith("model")]
    assert len(body) == len(jdoc("accuracy", tmp_path)["rows"]) // 2  # one row per setup, a column per density
    assert any("[1, 2]" in ln for ln in body) and any("& [2] &" in ln for ln in body)
