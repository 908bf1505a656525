"""``fw-train tables``: the paper's Tables 1-4 from the registries and specs, and the report that inlines them."""

from __future__ import annotations

from fwanalysis.vocab import CRITERIA, PAPER_CRITERIA
from trainer.tables import criteria_table, datasets_table, dst_settings_table, models_table, write_tables


def test_table1_lists_every_criterion_in_order():
    df = criteria_table()
    assert list(df["criterion"]) == list(CRITERIA)
    assert set(df.loc[df["compared in the paper"], "criterion"]) == set(PAPER_CRITERIA)
    # the paper's Table 1: RigL is magnitude with gradient growth, SET/MEST/Sensitivity use random growth
    by = df.set_index("criterion")
    assert by.loc["magnitude", "with gradient growth"].startswith("RigL") and by.loc[
        "mest", "with random growth"
    ].startswith("MEST")


def test_table2_counts_are_the_papers():
    df = models_table().set_index("model")
    # Table 2 and its caption: dense counts of the small models and ResNet-56; ResNet-50's 25,502,912 are its
    # masked weights
    assert df.loc["mlp-small", "parameters (dense)"] == 72_449
    assert df.loc["mlp-large", "parameters (dense)"] == 3_676_682
    assert df.loc["cnn-small", "parameters (dense)"] == 94_538
    assert df.loc["resnet56", "parameters (dense)"] == 855_770
    assert df.loc["resnet50", "masked weights"] == 25_502_912
    assert (df["masked weights"] < df["parameters (dense)"]).all()


def test_table3_is_computed_from_the_paper_profiles():
    df = dst_settings_table().set_index("spec")
    assert df.loc["accuracy", "runs"] == 8 * (5 * 2 * 11 * 5 + 11 * 5 + 5)  # Fig. 1: 8 setups, Table 3's 11 densities
    assert df.loc["update-period", "update period Δt"] == "25, 50, 100, 200, 400, 800, 1600, 3200, 6400"
    assert df.loc["jaccard-first", "prune fraction ρ"] == "0.0625, 0.125, 0.25, 0.5"
    assert df.loc["imagenet", "seeds"] == 3 and df.loc["accuracy", "seeds"] == 5


def test_table4_counts_the_embedded_split():
    row = datasets_table().set_index("data set").loc["digits"]
    assert "1077 / 360 / 360" in row["split"]


def test_tables_then_report_twice_share_the_folder_and_rebuild_byte_identically(tmp_path):
    """`make report` twice (fw-train tables, then fwa report, into one folder holding the committed README):
    the second run is refused nothing and writes the same bytes; the README is never touched; the tables
    that fw-train tables wrote are inlined."""
    import hashlib

    from fwanalysis.report import write_report

    readme = tmp_path / "README.md"
    readme.write_text("# reports/\n")

    def make_report() -> dict:
        write_tables(tmp_path, only=("table01-criteria",))
        write_report([], tmp_path)
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tmp_path.iterdir())}

    first = make_report()
    assert make_report() == first and readme.read_text() == "# reports/\n"
    assert ".fwa-written.json" in first and "| set-legacy |" in (tmp_path / "index.md").read_text()


def test_written_and_inlined_by_the_report(tmp_path):
    paths = write_tables(tmp_path, only=("table01-criteria",))
    assert sorted(p.name for p in paths) == ["table01-criteria.csv", "table01-criteria.md"]
    from fwanalysis.report import write_report

    write_report([], tmp_path)
    index = (tmp_path / "index.md").read_text()
    assert "| set-legacy |" in index  # table 1 inlined
    assert (
        "fw-train tables --out" in index and str(tmp_path) not in index
    )  # the others: how, with no path (byte-identical rebuilds)
