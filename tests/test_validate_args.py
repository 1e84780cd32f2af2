"""Shared checks of user-given arguments (issue 11 item 2): the pure checks of
:mod:`analysis.validate_args` on hand-written cases, then the command lines on the real
database (exit code 2 and one French line on stderr for every case of the issue)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from analysis import validate_args as va

SECTORS = ["Agriculture", "Enseignement", "Énergie", "Hôtellerie, restauration", "Santé"]


# ------------------------------------------------------------------ pure checks


def test_budget_allowed_values_and_range():
    assert va.check_budget("45", (15, 30, 45, 60)) == 45
    assert va.check_budget("30 min", (15, 30, 45, 60)) == 30
    with pytest.raises(va.ArgumentError, match=r"75 min non disponible.*15, 30, 45 ou 60 min"):
        va.check_budget("75", (15, 30, 45, 60))
    assert va.check_budget(75, horizon=90) == 75
    for bad in ("0", "91", "-5"):
        with pytest.raises(va.ArgumentError, match="hors limites"):
            va.check_budget(bad, horizon=90)
    for bad in ("abc", "12.5", ""):
        with pytest.raises(va.ArgumentError, match="Budget-temps invalide"):
            va.check_budget(bad, horizon=90)


def test_sector_matched_case_and_accent_insensitively():
    assert va.check_sector("enseignement", SECTORS) == "Enseignement"
    assert va.check_sector("ENERGIE", SECTORS) == "Énergie"
    assert va.check_sector(" hotellerie restauration ", SECTORS) == "Hôtellerie, restauration"
    assert va.check_sectors(["sante", "Santé"], SECTORS) == ("Santé",)


def test_unknown_sector_lists_close_matches():
    with pytest.raises(va.ArgumentError) as e:
        va.check_sector("Enseignemant", SECTORS)
    assert "Secteur d'activité inconnu : « Enseignemant »" in str(e.value)
    assert "secteurs proches : « Enseignement »" in str(e.value)
    with pytest.raises(va.ArgumentError, match="aucun secteur proche parmi les 5 secteurs"):
        va.check_sector("Astronautique", SECTORS)


def test_choice_and_mode():
    assert va.check_mode("car") == "car"
    assert va.check_mode("Voiture", {"car": "Voiture", "walk": "Marche"}) == "car"
    with pytest.raises(va.ArgumentError, match=r"mode de déplacement : « plane »"):
        va.check_mode("plane")


KNOWN = {
    "epci": {"200065597": "CU Caen la Mer", "241400415": "CC Coeur Côte Fleurie"},
    "commune": {"14118": "Caen", "61168": "La Ferté Macé"},
}


def test_territory_level_implied_by_the_code():
    assert va.check_territory("61168", None, KNOWN) == ("commune", "61168")
    assert va.check_territory("200065597", None, KNOWN) == ("epci", "200065597")
    assert va.check_territory(" 14118 ", "commune", KNOWN) == ("commune", "14118")
    assert va.infer_level("2A004") == "commune"
    assert va.infer_level("28") == "region" and va.infer_level("14") == "departement"


@pytest.mark.parametrize(
    "code, level, message",
    [
        ("999999999", None, "EPCI inconnu : « 999999999 »"),
        ("99999", None, "Commune inconnue : « 99999 »"),
        ("200065597", "commune", "Code de commune invalide"),
        ("abc", None, "Code de territoire non reconnu : « abc »"),
        ("14", None, "Code de territoire non reconnu"),  # départements not offered here
        ("", None, "Code de territoire manquant"),
    ],
)
def test_unknown_territory_codes(code, level, message):
    with pytest.raises(va.ArgumentError, match=message):
        va.check_territory(code, level, KNOWN)


def test_points_in_normandie_swapped_and_far():
    assert va.parse_point("-0.36,49.179") == (-0.36, 49.179)
    with pytest.raises(va.ArgumentError) as e:
        va.parse_point("49.179,-0.36")
    assert "inversées" in str(e.value) and "-0.36,49.179" in str(e.value)
    with pytest.raises(va.ArgumentError) as e:  # Paris, Notre-Dame
        va.parse_point("2.3499,48.8530")
    assert "hors de Normandie" in str(e.value) and "inversées" not in str(e.value)
    with pytest.raises(va.ArgumentError, match="Coordonnées attendues"):
        va.parse_point("49.4,1.09,3")
    # the margin: Le Tréport's beach and Alençon's south stay inside the box
    assert va.check_point(1.37, 50.06) and va.check_point(0.09, 48.1)


def test_argparse_messages_in_french():
    assert (
        va.french_argparse_message("the following arguments are required: --level")
        == "arguments obligatoires manquants : --level"
    )
    assert va.french_argparse_message("unrecognized arguments: --foo") == "arguments inconnus : --foo"


# ------------------------------------------------------------------ command lines (real data)


@pytest.fixture(scope="module")
def real_db(source_dir):
    from analysis import build

    return str(build.ensure_database())


def _run(main, args, capsys) -> tuple[int, str, str]:
    try:
        rc = main(args)
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_french_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Erreur"), err
    return lines[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sector", "Astronautique"], "Secteur d'activité inconnu : « Astronautique »"),
        (["--code", "999"], "Code de région invalide : « 999 »"),
        (["--level", "epci", "--code", "999999999"], "EPCI inconnu : « 999999999 »"),
        (["--level", "commune", "--code", "999"], "Code de commune invalide"),
        (["--level", "commune", "--within", "999"], "Code de territoire non reconnu"),
        (["--minutes", "500"], "hors limites"),
        (["--mode", "plane"], "--mode : valeur 'plane' inconnue"),
    ],
)
def test_access_cli_refuses_bad_input(real_db, capsys, args, message):
    from analysis import access

    rc, out, err = _run(access.main, args + ["--db", real_db], capsys)
    assert rc == 2 and out == ""
    assert message in _one_french_line(err)


def test_access_cli_matches_sector_case_like_the_report(real_db, capsys, tmp_path):
    """``--sector enseignement`` is the sector « Enseignement » for both commands."""
    from analysis import access, report

    rc, out_lower, _ = _run(access.main, ["--level", "epci", "--sector", "enseignement", "--db", real_db], capsys)
    assert rc == 0
    rc, out_exact, _ = _run(access.main, ["--level", "epci", "--sector", "Enseignement", "--db", real_db], capsys)
    assert rc == 0
    df = pd.read_csv(io.StringIO(out_lower), dtype={"code": str})
    # same rows (figures equal up to DuckDB's parallel summation order)
    pd.testing.assert_frame_equal(df, pd.read_csv(io.StringIO(out_exact), dtype={"code": str}), rtol=1e-9)
    assert len(df) > 60 and df["share_no_offer"].max() < 1.0 + 1e-9
    assert df["share_no_offer"].min() < 1.0  # not "100 % without an offer" everywhere
    out = tmp_path / "r.csv"
    rc, _, _ = _run(
        report.main,
        [
            "--level",
            "epci",
            "--code",
            "200065597",
            "--format",
            "csv",
            "--sector",
            "enseignement",
            "--out",
            str(out),
            "--db",
            real_db,
        ],
        capsys,
    )
    assert rc == 0 and out.exists()
    rc, _, err = _run(
        report.main,
        [
            "--level",
            "epci",
            "--code",
            "200065597",
            "--format",
            "csv",
            "--sector",
            "Astronautique",
            "--out",
            str(out) + "2",
            "--db",
            real_db,
        ],
        capsys,
    )
    assert rc == 2 and "Secteur d'activité inconnu : « Astronautique »" in _one_french_line(err)


def test_access_cli_json_still_works(real_db, capsys):
    from analysis import access

    rc, out, _ = _run(
        access.main, ["--level", "commune", "--code", "61168", "--format", "json", "--db", real_db], capsys
    )
    assert rc == 0
    rows = json.loads(out)
    assert [r["code"] for r in rows] == ["61168"]


@pytest.mark.parametrize(
    "point, message",
    [
        ("49.179,-0.36", "semblent inversées (ordre attendu LON,LAT, soit -0.36,49.179)"),
        ("2.3499,48.853", "Point 2.3499,48.853 hors de Normandie"),
    ],
)
def test_route_cli_refuses_points_outside_normandie(capsys, point, message):
    from analysis import traveltime

    rc, out, err = _run(traveltime.main, ["route", "--mode", "walk", "--from", point, "--to", "-0.37,49.18"], capsys)
    assert rc == 2 and out == ""
    assert message in _one_french_line(err)


def test_choice_message_lists_codes_with_their_labels_in_quotes():
    """Each possible value is shown as its code and its label in « »: labels with their own
    parentheses no longer nest in the list's (the origin notice read « school (Lycées (effectifs
    réels))) »)."""
    labels = {"commune": "Communes de résidence (élèves estimés)", "school": "Lycées (effectifs réels)"}
    with pytest.raises(va.ArgumentError) as err:
        va.check_choice("gare", labels, "l'origine des élèves")
    assert str(err.value) == (
        "Valeur inconnue pour l'origine des élèves : « gare » (valeurs possibles : "
        "commune « Communes de résidence (élèves estimés) » ou school « Lycées (effectifs réels) »)"
    )
