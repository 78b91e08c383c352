"""Reading, checking and writing cohort CSVs (simulation.cohorts.cohort_io)."""

import io
import json
import re

import numpy as np
import pytest

from simulation.cohorts.cohort_io import (
    COLUMN_NAMES,
    CohortFileError,
    cohort_to_csv_text,
    read_cohort,
    write_cohort,
)

GOOD_ROW = {"id": "p1", "age": "70", "sex": "M", "ecog": "1", "child_pugh_score": "6",
            "etiology": "hbv", "cirrhosis": "1", "extrahepatic_spread": "0",
            "afp_ng_ml": "250.5", "albumin_g_l": "35", "lymphocytes_10e9_l": "1.1",
            "bilirubin_mg_dl": "1.27", "inr": "1.1", "treatment": "sorafenib",
            "os_months": "6.5", "os_event": "1", "pfs_months": "4.1", "pfs_event": "1"}


def csv_text(*rows: dict[str, str], header: list[str] | None = None) -> str:
    names = header or list(COLUMN_NAMES)
    lines = [",".join(names)]
    for i, row in enumerate(rows):
        cells = dict(GOOD_ROW, id=f"p{i + 1}")
        cells.update(row)
        lines.append(",".join(cells.get(name, "") for name in names))
    return "\n".join(lines) + "\n"


def problems_of(text: str) -> list:
    with pytest.raises(CohortFileError) as caught:
        read_cohort(io.StringIO(text))
    return list(caught.value.problems)


def test_reads_types_and_missing_values() -> None:
    cohort = read_cohort(io.StringIO(csv_text({}, {"albumin_g_l": "", "sex": "",
                                                   "os_event": " ", "etiology": "HCV"})))
    assert list(cohort)[:len(COLUMN_NAMES)] == list(COLUMN_NAMES)
    assert cohort["albumin_g_l"].dtype == float and np.isnan(cohort["albumin_g_l"][1])
    assert cohort["sex"].tolist() == ["M", ""] and cohort["etiology"].tolist() == ["hbv", "hcv"]
    assert cohort["os_event"][0] == 1.0 and np.isnan(cohort["os_event"][1])
    assert cohort["id"].tolist() == ["p1", "p2"]


def test_write_then_read_gives_the_same_cohort(tmp_path) -> None:
    from simulation.cohorts.generate import generate_cohort
    from simulation.cohorts.scenarios import get_scenario

    cohort = generate_cohort(get_scenario("tog2025"), 200, np.random.default_rng(3))
    cohort["albumin_g_l"] = cohort["albumin_g_l"].astype(float)
    cohort["albumin_g_l"][[4, 9]] = np.nan
    path = tmp_path / "cohort.csv"
    write_cohort(cohort, path)
    back = read_cohort(path)
    for name in COLUMN_NAMES:
        if back[name].dtype.kind == "f":
            np.testing.assert_array_equal(back[name], np.asarray(cohort[name], dtype=float))
        else:
            assert back[name].tolist() == np.asarray(cohort[name]).astype(str).tolist()
    assert cohort_to_csv_text(cohort) == path.read_text()


@pytest.mark.parametrize("column, value, message", [
    ("sex", "X", r"sex must be M or F; got 'X'"),
    ("ecog", "3", r"ecog must be 0, 1 or 2; got 3"),
    ("ecog", "1.5", r"ecog must be 0, 1 or 2; got 1.5"),
    ("child_pugh_score", "4", r"child_pugh_score must be 5, 6, .* or 15; got 4"),
    ("etiology", "hepatitis", r"etiology must be hbv, hcv, nash, alcohol or other"),
    ("treatment", "lenvatinib", r"treatment must be sorafenib, regorafenib, cabozantinib "
                                r"or other"),
    ("albumin_g_l", "3.5", r"albumin_g_l must be a number from 10 to 60 g/L; got 3.5 "
                           r"\(looks like g/dL; this column takes g/L"),
    ("lymphocytes_10e9_l", "1100", r"looks like cells/µL; this column takes 10\^9/L"),
    ("afp_ng_ml", "-3", r"afp_ng_ml must be a number from 0 to 5000000 ng/mL; got -3 "
                        r"\(a concentration or count cannot be negative\)"),
    ("inr", "35", r"inr must be a number from 0.5 to 20; got 35 \(the INR is a unitless"),
    ("os_months", "300", r"os_months must be between 0 and 240 months; got 300 \(times "
                         r"are in months; was it entered in days"),
    ("os_months", "-1", r"os_months must be between 0 and 240 months; got -1$"),
    ("os_event", "2", r"os_event must be 0 or 1; got 2"),
    ("age", "abc", r"age must be a number; got 'abc'"),
    ("age", "inf", r"age must be a finite number"),
    ("albumin_g_l", "NA", r"got 'NA' \(leave the cell empty for a missing value\)"),
])
def test_bad_cells_name_row_column_value_and_what_is_allowed(column, value, message) -> None:
    problems = problems_of(csv_text({}, {}, {column: value}))
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.row, problem.line, problem.column) == (3, 4, column)
    assert problem.value == value
    assert problem.allowed
    assert re.search(message, problem.message), problem.message
    assert str(problem).startswith(f"row 3 (line 4), column {column}: ")


def test_every_problem_is_reported_at_once() -> None:
    text = csv_text({"sex": "X", "age": "-5"}, {}, {"ecog": "7"})
    problems = problems_of(text)
    assert [(p.row, p.column) for p in problems] == [(1, "age"), (1, "sex"), (3, "ecog")]
    err = CohortFileError(problems)
    payload = json.loads(json.dumps(err.to_json()))
    assert [e["column"] for e in payload["errors"]] == ["age", "sex", "ecog"]
    assert str(err).startswith("3 problems in the cohort file: row 1 (line 2), column age")


def test_decimal_comma_in_a_quoted_cell_is_read() -> None:
    text = csv_text({}).replace(",35,", ',"35,5",')
    assert read_cohort(io.StringIO(text))["albumin_g_l"][0] == 35.5


def test_header_problems() -> None:
    missing = problems_of(csv_text({}, header=[c for c in COLUMN_NAMES if c != "inr"]))
    assert missing[0].column == "inr" and "lacks the column inr" in missing[0].message
    doubled = problems_of(csv_text({}, header=list(COLUMN_NAMES) + ["age"]))
    assert "appears twice" in doubled[0].message
    assert "empty" in problems_of("\n\n")[0].message
    assert "no patient rows" in problems_of(",".join(COLUMN_NAMES) + "\n")[0].message


def test_header_is_matched_without_case_or_spaces_and_extra_columns_are_kept() -> None:
    header = [f" {c.upper()} " for c in COLUMN_NAMES] + ["site"]
    text = ",".join(header) + "\n" + ",".join(list(GOOD_ROW.values()) + ["Ankara"]) + "\n"
    cohort = read_cohort(io.StringIO("\ufeff" + text))
    assert cohort["site"].tolist() == ["Ankara"] and cohort["age"][0] == 70


def test_ragged_rows_duplicate_ids_and_pfs_longer_than_os() -> None:
    text = csv_text({}, {})
    lines = text.splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    ragged = problems_of("\n".join(lines))
    assert ragged[0].row == 2 and "has 17 cells but the header has 18" in ragged[0].message
    dup = problems_of(csv_text({"id": "a"}, {"id": "a"}))
    assert dup[0].row == 2 and "repeated (first at row 1)" in dup[0].message
    longer = problems_of(csv_text({"pfs_months": "7", "os_months": "6.5"}))
    assert longer[0].column == "pfs_months" and "longer than os_months" in longer[0].message


def test_unreadable_files(tmp_path) -> None:
    with pytest.raises(CohortFileError, match="cannot find the file"):
        read_cohort(tmp_path / "nope.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(CohortFileError, match="not a readable CSV"):
        read_cohort(binary)


def test_write_needs_every_column() -> None:
    with pytest.raises(ValueError, match="lacks the column"):
        write_cohort({"id": [1]}, io.StringIO())
