"""The questions-to-ask checklist: rules/checklist.yaml, tailoring, and GET /api/v1/checklist."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from matcher.checklist import Checklist, Tailoring, load_checklist
from matcher.errors import ConfigError, IntakeError
from matcher.matching import Matcher
from matcher.web import create_app
from tests.contract import documented_errors

GENERAL = [
    "general.approach",
    "general.progress",
    "general.sessions",
    "general.session",
    "general.stalls",
    "general.credentials",
    "general.confidentiality",
    "general.practice",
    "general.fees",
    "general.waiting",
    "general.crisis",
    "general.changing",
]
YOURSELF = ["self.better_at", "self.what_better_looks_like"]


@pytest.fixture(scope="module")
def checklist(app) -> Checklist:  # type: ignore[no-untyped-def]
    loaded: Checklist = app.extensions["checklist"]
    return loaded


def ids_by_section(built: dict) -> dict[str, list[str]]:
    return {s["id"]: [q["id"] for q in s["questions"]] for s in built["sections"]}


def test_every_checklist_has_the_general_questions_and_the_ones_for_yourself(
    checklist: Checklist,
) -> None:
    assert ids_by_section(checklist.build(Tailoring())) == {
        "yourself": YOURSELF,
        "general": GENERAL,
    }


def test_the_general_questions_cite_the_seed_pages(checklist: Checklist) -> None:
    built = checklist.build(Tailoring())
    sources = {q["id"]: q["source"]["id"] for s in built["sections"] for q in s["questions"]}
    assert sources["general.approach"] == "seed-000"
    assert sources["general.stalls"] == "seed-000"
    assert sources["general.confidentiality"] == "seed-002"
    assert sources["self.better_at"] == "seed-004"


def test_emdr_and_cbt_online_in_a_group_adds_their_questions_in_order(checklist: Checklist) -> None:
    built = checklist.build(Tailoring(modalities=("emdr", "cbt"), format="online", setting="group"))
    assert ids_by_section(built) == {
        "yourself": YOURSELF,
        "general": GENERAL,
        "modality.emdr": ["emdr.preparation", "emdr.phases"],
        "modality.cbt": ["cbt.homework", "cbt.patterns", "cbt.parent_or_carer"],
        "preferences": ["format.online", "setting.group"],
    }
    titles = [s["title"] for s in built["sections"]]
    assert titles[2:] == [
        "About EMDR",
        "About Cognitive behavioural therapy (CBT)",
        "About how you want to meet",
    ]


def test_a_question_shared_by_two_modalities_is_asked_once_under_the_first(
    checklist: Checklist,
) -> None:
    built = checklist.build(Tailoring(modalities=("tf_cbt", "cbt")))
    sections = ids_by_section(built)
    assert sections["modality.tf_cbt"] == [
        "tf_cbt.pacing",
        "tf_cbt.parent_or_carer",
        "cbt.homework",
    ]
    assert sections["modality.cbt"] == ["cbt.patterns", "cbt.parent_or_carer"]


def test_couple_and_family_settings_and_a_language_add_preference_questions(
    checklist: Checklist,
) -> None:
    couple = ids_by_section(checklist.build(Tailoring(setting="couple", languages=("es",))))
    assert couple["preferences"] == ["setting.together", "language.sessions"]
    in_person = ids_by_section(checklist.build(Tailoring(format="in_person", setting="individual")))
    assert "preferences" not in in_person


def test_the_share_link_holds_modalities_format_setting_and_languages() -> None:
    tailoring = Tailoring(
        modalities=("emdr", "cbt"), format="online", setting="any", languages=("es",)
    )
    # The languages carried, so that the language questions appear on the shared checklist.
    assert tailoring.link_query() == {
        "modalities": "emdr,cbt",
        "format": "online",
        "languages": "es",
    }


def test_the_api_serves_the_tailored_checklist_as_documented(client: FlaskClient) -> None:
    response = client.get("/api/v1/checklist?modalities=emdr,cbt&format=online&setting=group")
    assert response.status_code == 200
    body = response.get_json()
    assert documented_errors(client, "Checklist", body) == []
    assert body["modalities"] == ["emdr", "cbt"] and body["format"] == "online"
    assert ids_by_section(body)["preferences"] == ["format.online", "setting.group"]
    emdr = body["sections"][2]
    assert emdr == {
        "id": "modality.emdr",
        "modality": "emdr",
        "title": "About EMDR",
        "questions": [
            {
                "id": "emdr.preparation",
                "text": "How will we build safety and coping skills before we start processing memories?",
                "source": {
                    "id": "seed-000",
                    "cite": "Hesketherapy: What is clinical psychotherapy",
                    "title": "What Is Clinical Psychotherapy and How It Helps (Hesketherapy): technique table, evidence and questions to ask",
                },
            },
            {
                "id": "emdr.phases",
                "text": "What are the phases of EMDR, and which one would we start with?",
                "source": emdr["questions"][0]["source"],
            },
        ],
    }


def test_the_api_without_parameters_gives_the_general_checklist(client: FlaskClient) -> None:
    body = client.get("/api/v1/checklist").get_json()
    assert ids_by_section(body) == {"yourself": YOURSELF, "general": GENERAL}
    assert (body["modalities"], body["format"], body["setting"], body["languages"]) == (
        [],
        "any",
        "any",
        [],
    )


def test_a_repeated_modality_is_asked_about_once(client: FlaskClient) -> None:
    once = client.get("/api/v1/checklist?modalities=cbt").get_json()
    twice = client.get("/api/v1/checklist?modalities=cbt,cbt").get_json()
    assert twice == once


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        (
            "modalities=emdr,reiki",
            {
                "modalities": [
                    "'reiki': not a kind of therapy we know; use one of: cbt, tf_cbt, emdr, erp, dbt, behavioural_activation, applied_relaxation, transdiagnostic_cbt, process_based, counselling, psychodynamic, ipt, humanistic, couples_therapy, family_therapy, guided_self_help, mbct."
                ]
            },
        ),
        ("format=phone", {"format": ["Must be one of: online, in_person, any."]}),
        (
            "setting=retreat",
            {"setting": ["Must be one of: individual, group, couple, family, any."]},
        ),
        ("languages=xx", {"languages": ["'xx': not an ISO 639-1 language code."]}),
        ("name=Ana", {"name": ["Unknown field."]}),
    ],
)
def test_the_api_rejects_an_unknown_value_with_422_naming_the_field(
    client: FlaskClient, query: str, errors: dict[str, list[str]]
) -> None:
    response = client.get(f"/api/v1/checklist?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"] == errors


def test_the_checklist_is_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/checklist"]["get"]
    assert [p["name"] for p in operation["parameters"]] == [
        "modalities",
        "format",
        "setting",
        "languages",
    ]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Checklist"
    }
    assert "422" in operation["responses"]


def test_tailoring_rejects_an_unknown_modality_in_the_domain_too(checklist: Checklist) -> None:
    with pytest.raises(IntakeError) as caught:
        checklist.tailoring({"modalities": "emdr2"})
    assert list(caught.value.errors) == ["modalities"]


# --- a broken checklist file fails loudly at start-up -------------------------------------------


def load(rules: Path, matcher: Matcher) -> Checklist:
    return load_checklist(
        rules / "checklist.yaml",
        "rules/checklist.yaml",
        matcher.knowledge.vocabulary,
        matcher.knowledge.sources,
    )


def break_file(rules: Path, old: str, new: str) -> None:
    # Break the data, not the header comment that shows the same notation.
    path = rules / "checklist.yaml"
    comments, data = path.read_text(encoding="utf-8").split("\nheadings:", 1)
    data = "\nheadings:" + data
    assert old in data, old
    path.write_text(comments + data.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "source: seed-002\n    when: always",
            "source: seed-099\n    when: always",
            "rules/checklist.yaml: question 'general.confidentiality': source 'seed-099' is not in sources.yaml (seed-000, seed-001, seed-002, seed-003, seed-004, nice-ng116, nice-cg113, nice-cg159, nice-cg31, nice-ng222, kroenke-2001, spitzer-2006, nice-ng225, nice-cg78, nice-ng69, nice-cg178, nice-cg185, nice-qs95, nhs-scotland-right-decisions, nice-cg115, nice-ng58, nice-ph50, nice-ng76, nice-cg192, nice-ng134, nhs-talking-therapies, trytherapy-counsellor)",
        ),
        (
            "when: {modality: emdr}",
            "when: {modality: emdr2}",
            "rules/checklist.yaml: question 'emdr.preparation': when: modality 'emdr2' is not in the vocabulary (cbt, tf_cbt, emdr, erp, dbt, behavioural_activation, applied_relaxation, transdiagnostic_cbt, process_based, counselling, psychodynamic, ipt, humanistic, couples_therapy, family_therapy, guided_self_help, mbct)",
        ),
        (
            "when: {format: online}",
            "when: {weather: sunny}",
            "rules/checklist.yaml: question 'format.online': field 'when': unknown condition 'weather'; use 'always' or one of modality, format, setting, language",
        ),
        (
            "when: {setting: group}",
            "when: {setting: groups}",
            "rules/checklist.yaml: question 'setting.group': when: setting 'groups' is not in the vocabulary (individual, group, couple, family)",
        ),
        (
            "id: general.progress",
            "id: general.approach",
            "rules/checklist.yaml: question 'general.approach': id is listed twice",
        ),
        (
            '    text: "What do you do if progress stalls?"\n',
            "",
            "rules/checklist.yaml: question 'general.stalls': field 'text': Missing data for required field.",
        ),
        (
            '  modality: "About {name}"',
            '  modality: "About it"',
            "rules/checklist.yaml: field 'headings.modality': must contain {name}, the modality's name",
        ),
        (
            "\nheadings:",
            "\nheadings:\n  yourself: twice",
            "rules/checklist.yaml: invalid YAML: line 12, column 3: duplicate key 'yourself' (line 12)",
        ),
    ],
)
def test_a_broken_checklist_names_the_file_the_question_and_the_problem(
    rules_copy: Path, matcher: Matcher, old: str, new: str, message: str
) -> None:
    break_file(rules_copy, old, new)
    with pytest.raises(ConfigError) as caught:
        load(rules_copy, matcher)
    assert str(caught.value) == message


def test_a_question_for_yourself_must_apply_always(rules_copy: Path, matcher: Matcher) -> None:
    break_file(
        rules_copy,
        "source: seed-004\n    when: always",
        "source: seed-004\n    when: {format: online}",
    )
    with pytest.raises(ConfigError) as caught:
        load(rules_copy, matcher)
    assert str(caught.value) == (
        "rules/checklist.yaml: question 'self.better_at': a question for yourself must apply 'always'"
    )


def test_the_app_refuses_to_start_without_a_checklist(rules_copy: Path) -> None:
    (rules_copy / "checklist.yaml").unlink()
    with pytest.raises(ConfigError) as caught:
        create_app({"RULES_DIR": str(rules_copy)})
    assert str(caught.value) == "rules/checklist.yaml: file not found"


# --- the share link on the page: never from a forged Host header ------------------------------

SHARE = "/checklist?modalities=emdr,cbt&amp;format=online"


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    ],
)
def test_a_forged_host_never_reaches_the_share_link(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.get("/checklist?modalities=emdr,cbt&format=online", headers=headers)
    html = response.get_data(as_text=True)
    assert "evil.example" not in html
    assert f'<input id="share-link" type="text" readonly value="{SHARE}">' in html
    assert response.headers["Cache-Control"] == "no-store"


def test_the_share_link_uses_the_configured_public_address(tmp_path: Path) -> None:
    app = create_app({"STATE_DIR": str(tmp_path), "PUBLIC_URL": "https://clinic.example/matcher/"})
    response = app.test_client().get(
        "/checklist?modalities=emdr,cbt&format=online", headers={"Host": "evil.example"}
    )
    assert (
        f'<input id="share-link" type="text" readonly value="https://clinic.example/matcher{SHARE}">'
        in response.get_data(as_text=True)
    )


def test_an_old_checklist_link_is_not_cached_either(client: FlaskClient) -> None:
    response = client.get("/checklist?modalities=reiki")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "url", ["clinic.example", "ftp://clinic.example", "https://clinic.example/?x=1", "https://"]
)
def test_a_public_address_that_is_not_one_stops_start_up(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="MATCHER_PUBLIC_URL: .* is not a public address like"):
        create_app({"STATE_DIR": str(tmp_path), "PUBLIC_URL": url})


def test_a_child_with_low_mood_still_gets_the_parent_or_carer_question(
    checklist: Checklist, matcher: Matcher
) -> None:
    # NG134 involves parents or carers for children; the child's options tailor the checklist.
    body = matcher.match({"difficulties": ["depression"], "preferences": {"age": 9}})
    modalities = tuple(m["id"] for m in body["modalities"])
    assert modalities == ("ipt", "family_therapy", "cbt", "psychodynamic")
    sections = ids_by_section(checklist.build(Tailoring(modalities=modalities)))
    assert sections["modality.ipt"] == ["ipt.focus"]
    assert sections["modality.family_therapy"] == ["family_therapy.who_comes"]
    assert sections["modality.cbt"] == ["cbt.homework", "cbt.patterns", "cbt.parent_or_carer"]
