"""MRZ parsing and validation against the ICAO 9303 specimens and hand-made faults."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.errors import Reason
from appliance.mrz import MrzFormat, parse_mrz, position_alphabet
from appliance.mrz.check_digits import check_digit
from appliance.mrz.formats import ALPHABET_CHARACTERS, LAYOUTS, Alphabet

TODAY = date(2026, 11, 26)

# ICAO Doc 9303 specimens (Part 4 TD3, Part 5 TD1, Part 6 TD2, Part 7 MRV-A and MRV-B); every
# check digit was recomputed with `check_digit` (see test_specimen_check_digits_recomputed).
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
TD1_LONG_NUMBER = (  # 9303-5: document number D23145890734, continued in the optional data
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "3407127M9507122UTO<<<<<<<<<<<2",
    "STEVENSON<<PETER<JOHN<<<<<<<<<",
)
TD2 = (
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "D231458907UTO7408122F1204159<<<<<<<6",
)
MRV_A = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
)
MRV_B = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "L8988901C4XXX4009078F9612109<<<<<<<<",
)


def test_specimen_check_digits_recomputed() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"
    assert check_digit("L898902C36" + "7408122" + "1204159ZE184226B<<<<<1") == "0"
    assert check_digit("D23145890734") == "9"
    assert check_digit(TD1[0][5:30] + TD1[1][0:7] + TD1[1][8:15] + TD1[1][18:29]) == "6"


def test_td3_specimen() -> None:
    result = parse_mrz(TD3, today=TODAY)
    assert result.valid and result.status == "pass" and result.reason is Reason.OK
    assert result.format is MrzFormat.TD3
    f = result.fields
    assert f is not None
    assert (f.document_code, f.issuing_state, f.nationality) == ("P", "UTO", "UTO")
    assert (f.document_number, f.document_number_check_digit) == ("L898902C3", "6")
    assert (f.surname, f.given_names, f.sex) == ("ERIKSSON", "ANNA MARIA", "F")
    assert (f.date_of_birth, f.date_of_birth_iso) == ("740812", "1974-08-12")
    assert (f.date_of_expiry, f.date_of_expiry_iso) == ("120415", "2012-04-15")
    assert f.personal_number == "ZE184226B"
    assert f.optional_data_1 is None and f.optional_data_2 is None
    assert result.mrz_information == "L898902C3674081221204159"


def test_td1_specimen() -> None:
    result = parse_mrz(TD1, today=TODAY)
    assert result.valid and result.format is MrzFormat.TD1
    f = result.fields
    assert f is not None
    assert (f.document_code, f.document_number, f.long_document_number) == ("I", "D23145890", False)
    assert (f.surname, f.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (f.optional_data_1, f.optional_data_2, f.personal_number) == ("", "", None)
    assert result.mrz_information == "D23145890774081221204159"


def test_td1_long_document_number() -> None:
    result = parse_mrz(TD1_LONG_NUMBER, today=TODAY)
    assert result.valid, result.errors
    f = result.fields
    assert f is not None
    assert f.long_document_number
    assert (f.document_number, f.document_number_check_digit) == ("D23145890734", "9")
    assert f.optional_data_1 == ""
    assert (f.date_of_birth_iso, f.date_of_expiry_iso, f.sex) == ("1934-07-12", "1995-07-12", "M")
    # BAC/PACE use the whole number and its own check digit (9303-11 §9.7.3)
    assert result.mrz_information == "D23145890734" + "9" + "3407127" + "9507122"


def test_td1_long_document_number_wrong_check_digit() -> None:
    lines = (TD1_LONG_NUMBER[0].replace("7349", "7348"), TD1_LONG_NUMBER[1], TD1_LONG_NUMBER[2])
    result = parse_mrz(lines, today=TODAY)
    reasons = {(e.reason, e.field) for e in result.errors}
    assert (Reason.MRZ_CHECK_DIGIT, "document_number") in reasons
    assert result.mrz_information is None


def test_td1_filler_check_digit_without_continuation_is_a_format_error() -> None:
    lines = ("I<UTOD23145890<<<<<<<<<<<<<<<<", *TD1[1:])
    result = parse_mrz(lines, today=TODAY)
    assert not result.valid
    assert result.errors[0].reason is Reason.MRZ_FORMAT
    assert result.errors[0].field == "document_number"


def test_td2_specimen() -> None:
    result = parse_mrz(TD2, today=TODAY)
    assert result.valid and result.format is MrzFormat.TD2
    f = result.fields
    assert f is not None
    assert (f.document_number, f.surname, f.optional_data_1) == ("D23145890", "ERIKSSON", "")


@pytest.mark.parametrize(("lines", "fmt"), [(MRV_A, MrzFormat.MRV_A), (MRV_B, MrzFormat.MRV_B)])
def test_visa_specimens(lines: tuple[str, str], fmt: MrzFormat) -> None:
    result = parse_mrz(lines, today=TODAY)
    assert result.valid and result.format is fmt
    f = result.fields
    assert f is not None
    assert (f.document_code, f.document_number, f.nationality) == ("V", "L8988901C", "XXX")
    assert (f.date_of_birth_iso, f.date_of_expiry_iso) == ("1940-09-07", "1996-12-10")
    expected_optional = "6ZE184226B" if fmt is MrzFormat.MRV_A else ""
    assert f.optional_data_1 == expected_optional


def test_visa_has_no_composite_so_its_optional_data_is_unprotected() -> None:
    changed = (MRV_A[0], MRV_A[1][:30] + "X" + MRV_A[1][31:])
    assert parse_mrz(changed, today=TODAY).valid


@pytest.mark.parametrize(
    "text",
    [
        "\n".join(TD3),
        "  " + TD3[0].lower() + "  \r\n\t" + TD3[1].lower() + "\n\n",
        TD3[0] + TD3[1],  # as DG1 stores it: no line break
        (TD3[0] + TD3[1]).encode("ascii"),
    ],
)
def test_input_forms_are_tolerated(text: str) -> None:
    result = parse_mrz(text, today=TODAY)
    assert result.valid and result.lines == TD3


def test_concatenated_td1_and_td2() -> None:
    assert parse_mrz("".join(TD1), today=TODAY).format is MrzFormat.TD1
    assert parse_mrz("".join(TD2), today=TODAY).format is MrzFormat.TD2


@pytest.mark.parametrize(
    ("name", "line", "pos", "char"),
    [
        ("document_number", 1, 3, "9"),
        ("date_of_birth", 1, 14, "5"),
        ("date_of_expiry", 1, 23, "1"),
        ("personal_number", 1, 30, "F"),
    ],
)
def test_td3_check_digit_errors_name_the_field(name: str, line: int, pos: int, char: str) -> None:
    lines = list(TD3)
    lines[line] = lines[line][:pos] + char + lines[line][pos + 1 :]
    result = parse_mrz(lines, today=TODAY)
    assert not result.valid and result.status == "fail"
    assert result.reason is Reason.MRZ_CHECK_DIGIT
    fields = {e.field for e in result.errors}
    assert name in fields and "composite" in fields
    assert result.mrz_information is None


def test_composite_alone() -> None:
    lines = (TD3[0], TD3[1][:43] + "1")
    result = parse_mrz(lines, today=TODAY)
    assert [(e.reason, e.field) for e in result.errors] == [(Reason.MRZ_CHECK_DIGIT, "composite")]
    assert result.errors[0].detail == "line 2, position 44: check digit does not match"


def test_td3_empty_personal_number_check_may_be_filler_or_zero() -> None:
    def td3(personal: str, check: str) -> tuple[str, str]:
        head = "L898902C36UTO7408122F1204159" + personal + check
        return TD3[0], head + check_digit(head[0:10] + head[13:20] + head[21:43])

    assert parse_mrz(td3("<" * 14, "<"), today=TODAY).valid
    assert parse_mrz(td3("<" * 14, "0"), today=TODAY).valid
    result = parse_mrz(td3("ZE184226B<<<<<", "<"), today=TODAY)
    assert [(e.reason, e.field) for e in result.errors] == [
        (Reason.MRZ_CHECK_DIGIT, "personal_number")
    ]


def test_bad_characters_give_positions_not_content() -> None:
    lines = (TD3[0][:6] + "é" + TD3[0][7:], TD3[1][:10] + " " + TD3[1][11:])
    result = parse_mrz(lines, today=TODAY)
    assert not result.valid and result.fields is None and result.format is MrzFormat.TD3
    details = [e.detail for e in result.errors]
    assert details == [
        "line 1, position 7: character outside the MRZ alphabet (A-Z 0-9 <)",
        "line 2, position 11: character outside the MRZ alphabet (A-Z 0-9 <)",
    ]
    assert all(e.reason is Reason.MRZ_FORMAT for e in result.errors)


def test_non_ascii_case_mapping_cannot_shift_positions() -> None:
    # 'ß'.upper() == 'SS': a naive upper() would make the line 45 characters long
    result = parse_mrz((TD3[0][:43] + "ß", TD3[1]), today=TODAY)
    assert result.errors[0].detail.startswith("line 1, position 44:")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   \n  ",
        "hello",
        TD3[0],
        (TD3[0], TD3[1][:-1]),
        (TD3[0], TD3[1], TD3[1]),
        "X" * 5000,
        12345,
        None,
        [1, 2],
        b"\xff\xfe",
    ],
)
def test_garbage_is_a_format_error_not_an_exception(bad: object) -> None:
    result = parse_mrz(bad, today=TODAY)  # type: ignore[arg-type]
    assert not result.valid and result.status == "fail"
    assert result.reason is Reason.MRZ_FORMAT
    assert result.mrz_information is None


def test_wrong_line_length_is_reported_per_line() -> None:
    result = parse_mrz((TD3[0], TD3[1][:-1]), today=TODAY)
    assert result.format is MrzFormat.TD3
    assert [e.detail for e in result.errors] == ["line 2 has 43 characters, TD3 lines have 44"]


@pytest.mark.parametrize(
    ("line", "pos", "char", "field"),
    [
        (0, 0, "I", "document_code"),  # a TD3 is a passport
        (0, 7, "0", "name"),
        (0, 3, "7", "issuing_state"),
        (1, 20, "Q", "sex"),
        (1, 15, "O", "date_of_birth"),  # the classic O/0 confusion
        (1, 22, "<", "date_of_expiry"),
        (1, 9, "<", "document_number"),  # no long-number rule in a passport
        (1, 12, "1", "nationality"),
    ],
)
def test_position_alphabets_are_enforced(line: int, pos: int, char: str, field: str) -> None:
    lines = list(TD3)
    lines[line] = lines[line][:pos] + char + lines[line][pos + 1 :]
    result = parse_mrz(lines, today=TODAY)
    assert not result.valid
    assert (Reason.MRZ_FORMAT, field) in {(e.reason, e.field) for e in result.errors}
    assert result.fields is not None  # the officer still sees what was read


def test_visa_code_detects_visa_and_other_codes_detect_documents() -> None:
    assert parse_mrz(MRV_A, today=TODAY).format is MrzFormat.MRV_A
    result = parse_mrz(("A" + MRV_B[0][1:], MRV_B[1]), today=TODAY)
    assert result.format is MrzFormat.TD2  # 'A' is an ID/official card code: TD2 layout
    assert not result.valid


def test_td1_rejects_passport_code() -> None:
    result = parse_mrz(("P" + TD1[0][1:], *TD1[1:]), today=TODAY)
    assert (Reason.MRZ_FORMAT, "document_code") in {(e.reason, e.field) for e in result.errors}


# --- dates -------------------------------------------------------------------------------------


def _td3_with(dob: str, expiry: str, nationality: str = "UTO") -> tuple[str, str]:
    body = (
        "L898902C36"
        + nationality
        + dob
        + check_digit(dob)
        + "F"
        + expiry
        + check_digit(expiry)
        + "ZE184226B<<<<<1"
    )
    return TD3[0], body + check_digit(body[0:10] + body[13:20] + body[21:43])


@pytest.mark.parametrize(
    ("dob", "today", "iso"),
    [
        ("261126", date(2026, 11, 26), "2026-11-26"),  # born today
        ("261127", date(2026, 11, 26), "1926-11-27"),  # a day later would be the future
        ("000229", date(2026, 1, 1), "2000-02-29"),
        ("000229", date(2099, 1, 1), "2000-02-29"),  # 2000 is the latest past 29 February
        ("991231", date(2026, 1, 1), "1999-12-31"),
    ],
)
def test_birth_century_never_in_the_future(dob: str, today: date, iso: str) -> None:
    fields = parse_mrz(_td3_with(dob, "301231"), today=today).fields
    assert fields is not None and fields.date_of_birth_iso == iso


@pytest.mark.parametrize(
    ("expiry", "iso"),
    [
        ("361231", "2036-12-31"),
        ("761126", "2076-11-26"),
        ("770101", "1977-01-01"),
        ("120415", "2012-04-15"),
    ],
)
def test_expiry_century_window(expiry: str, iso: str) -> None:
    fields = parse_mrz(_td3_with("740812", expiry), today=TODAY).fields
    assert fields is not None and fields.date_of_expiry_iso == iso


@pytest.mark.parametrize("dob", ["74<<<<", "7408<<", "<<<<<<", "<<0812"])
def test_unknown_birth_date_parts(dob: str) -> None:
    result = parse_mrz(_td3_with(dob, "301231"), today=TODAY)
    assert result.valid and result.status == "pass", result.errors
    assert result.fields is not None
    assert result.fields.date_of_birth == dob and result.fields.date_of_birth_iso is None
    assert result.mrz_information == "L898902C36" + dob + check_digit(dob) + "301231" + check_digit(
        "301231"
    )


def test_half_unknown_birth_date_part_is_a_format_error() -> None:
    result = parse_mrz(_td3_with("7408<2", "301231"), today=TODAY)
    assert (Reason.MRZ_FORMAT, "date_of_birth") in {(e.reason, e.field) for e in result.errors}


@pytest.mark.parametrize(
    ("dob", "expiry", "field"),
    [
        ("740231", "301231", "date_of_birth"),
        ("741301", "301231", "date_of_birth"),
        ("740812", "300230", "date_of_expiry"),
        ("990101", "900101", "date_of_expiry"),  # expiry 1990, birth 1999
    ],
)
def test_impossible_dates_are_warnings(dob: str, expiry: str, field: str) -> None:
    result = parse_mrz(_td3_with(dob, expiry), today=TODAY)
    assert result.valid and result.status == "warn"
    assert result.reason is Reason.MRZ_DATE_INVALID
    assert [w.field for w in result.warnings] == [field]


# --- countries and names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "D<<",
        "UNO",
        "UNA",
        "UNK",
        "XXA",
        "XXB",
        "XXC",
        "XXX",
        "EUE",
        "GBD",
        "GBN",
        "GBO",
        "GBP",
        "GBS",
        "FRA",
        "NLD",
        "XPO",
    ],
)
def test_icao_nationality_codes_are_known(code: str) -> None:
    result = parse_mrz(_td3_with("740812", "301231", code), today=TODAY)
    assert result.status == "pass", result.warnings
    assert result.fields is not None and result.fields.nationality == code.rstrip("<")


@pytest.mark.parametrize("code", ["ZZZ", "DEU", "QQ<"])
def test_unknown_country_is_a_warning(code: str) -> None:
    result = parse_mrz(_td3_with("740812", "301231", code), today=TODAY)
    assert result.valid and result.status == "warn"
    assert [(w.reason, w.field) for w in result.warnings] == [
        (Reason.MRZ_COUNTRY_UNKNOWN, "nationality")
    ]


@pytest.mark.parametrize(
    ("name", "surname", "given", "truncated"),
    [
        ("VAN<DER<BERG<<JAN<PIETER", "VAN DER BERG", "JAN PIETER", False),
        ("MUSTERMANN", "MUSTERMANN", "", False),
        ("<<ANNA", "", "ANNA", False),
        ("ERIKSSON<<ANNA<<MARIA", "ERIKSSON", "ANNA MARIA", False),
        ("A" * 30 + "<<" + "B" * 7, "A" * 30, "B" * 7, True),
    ],
)
def test_name_splitting(name: str, surname: str, given: str, truncated: bool) -> None:
    line1 = ("P<UTO" + name).ljust(44, "<")
    result = parse_mrz((line1, TD3[1]), today=TODAY)
    assert result.fields is not None
    assert (result.fields.surname, result.fields.given_names) == (surname, given)
    assert result.fields.name_possibly_truncated is truncated
    assert (Reason.MRZ_NAME_TRUNCATED in {w.reason for w in result.warnings}) is truncated


# --- format tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(MrzFormat))
def test_every_position_has_exactly_one_field(fmt: MrzFormat) -> None:
    lay = LAYOUTS[fmt]
    covered = sorted(
        (f.span.line, column) for f in lay.fields for column in range(f.span.start, f.span.end)
    )
    expected = [(line, c) for line in range(lay.line_count) for c in range(lay.line_length)]
    assert covered == expected
    alphabets = position_alphabet(fmt)
    assert len(alphabets) == lay.line_count * lay.line_length
    assert all(Alphabet(name) in ALPHABET_CHARACTERS for name in alphabets)


def test_position_alphabet_td3_second_line() -> None:
    line2 = position_alphabet(MrzFormat.TD3)[44:]
    assert line2[9] == line2[19] == line2[27] == line2[43] == "digit"
    assert line2[13:19] == ["digit-or-filler"] * 6 and line2[21:27] == ["digit"] * 6
    assert line2[10:13] == ["filler-or-alpha"] * 3 and line2[20] == "sex"
    assert line2[42] == "digit-or-filler"


# --- command line ------------------------------------------------------------------------------


def test_cli_check_valid_json() -> None:
    run = CliRunner().invoke(cli, ["mrz", "check", "--json", *TD3])
    assert run.exit_code == 0, run.output
    report = json.loads(run.output)
    assert list(report)[:6] == ["status", "reason", "format", "fields", "errors", "warnings"]
    assert (report["status"], report["reason"], report["format"]) == ("pass", "OK", "TD3")
    assert report["fields"]["document_number"] == "L898902C3"


def test_cli_check_invalid_exits_1_with_reason() -> None:
    run = CliRunner().invoke(cli, ["mrz", "check", "--json", TD3[0], TD3[1][:43] + "9"])
    assert run.exit_code == 1
    report = json.loads(run.output)
    assert (report["status"], report["reason"]) == ("fail", "MRZ_CHECK_DIGIT")
    assert report["errors"][0]["field"] == "composite"


def test_cli_check_human_and_stdin() -> None:
    run = CliRunner().invoke(cli, ["mrz", "check", "-"], input="\n".join(TD1_LONG_NUMBER) + "\n")
    assert run.exit_code == 0, run.output
    assert run.output.startswith("TD1: pass (OK)")
    assert "D23145890734" in run.output


def test_cli_warn_exits_0() -> None:
    run = CliRunner().invoke(
        cli, ["mrz", "check", "--json", "--today", "2026-11-26", *_td3_with("740231", "301231")]
    )
    assert run.exit_code == 0
    assert json.loads(run.output)["status"] == "warn"


def test_cli_usage_errors_exit_2() -> None:
    assert CliRunner().invoke(cli, ["mrz", "check"]).exit_code == 2
    assert CliRunner().invoke(cli, ["mrz", "check", "--today", "soon", *TD3]).exit_code == 2


def test_results_never_show_personal_data_in_repr() -> None:
    result = parse_mrz(TD3, today=TODAY)
    text = repr(result) + repr(result.fields) + str(result.errors)
    assert "ERIKSSON" not in text and "L898902C3" not in text


def test_import_stays_light() -> None:
    """The chip reader and DG1 parser import this package: no OCR or country tables on import."""
    for module, heavy in (
        ("appliance.mrz", "{'cv2', 'onnxruntime', 'pycountry', 'numpy'}"),
        ("appliance.mrz.commands", "{'cv2', 'onnxruntime'}"),  # `mrz check` pays no OCR start-up
    ):
        code = f"import sys, {module}; print(sorted({heavy} & set(sys.modules)))"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "[]", module
