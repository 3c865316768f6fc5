"""Adding the connectors to a Meltano project of one's own, as README "Add to your Meltano project" says:
both of its blocks run as written in a fresh `meltano init` project (Meltano 4.4.1, `make meltano`), offline.

The changes: the definitions come from copies of plugins/ whose pip_url points at this checkout's sdist
(tap-mautic) and wheel (target-mautic), built for the module (tests/support/packaging.py); the example
instances are two simulators (the source, and an empty "staging" one with the same fields). Installing takes
a few seconds with uv's cache, so the module makes one project and the tests read what it did.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mautic_sim import Simulator
from scripts.meltano_settings import REPOSITORY, definition_path
from scripts.pipeline import MELTANO, MELTANO_OFFLINE
from tests.support.packaging import ROOT, build_distributions
from tests.support.readme import bash_block, run_bash

pytestmark = pytest.mark.e2e

SECTION = "## Add to your Meltano project"
DEFS_URL = REPOSITORY.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main/plugins"
SOURCE_PASSWORD, STAGING_PASSWORD = "Source-s3cret-pw", "Staging-s3cret-pw"  # distinctive, to find leaks
# Hub-only metadata Meltano drops on `meltano add` (the rest of a definition lands in meltano.yml as it is)
CONTACT_COLUMNS = "SELECT id, email, firstname, lastname, city FROM leads"
HUB_ONLY = {"keywords", "maintenance_status", "quality", "domain_url"}


@dataclass(frozen=True)
class Project:
    path: Path
    source: Simulator
    staging: Simulator
    output: str  # both blocks' stdout and stderr
    staging_before: dict[int, dict]  # the staging instance's own contacts, before the blocks ran
    definitions: dict[str, dict]  # what each plugin was added from (pip_url pointed at this checkout)


@pytest.fixture(scope="module")
def sims() -> Iterator[tuple[Simulator, Simulator]]:
    # staging: the same custom fields, contacts of its own (ids 1-5) and the same two company names
    with Simulator(contacts=40, seed=13, password=SOURCE_PASSWORD) as source, \
            Simulator(contacts=5, seed=14, password=STAGING_PASSWORD) as staging:
        yield source, staging


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, sims: tuple[Simulator, Simulator]) -> Project:
    assert MELTANO.exists(), "Meltano is not installed: run `make meltano` (make test does)"
    source, staging = sims
    base = tmp_path_factory.mktemp("own-project")
    dists = build_distributions(base / "dist")
    defs = base / "plugins"
    definitions = {}
    sources = (("tap-mautic", definition_path("tap-mautic"), dists.sdist),
               ("target-mautic", definition_path("target-mautic"), dists.wheel),
               ("target-jsonl", ROOT / "plugins/loaders/target-jsonl--andyh1203.yml", None))
    for name, path, pip_url in sources:
        definition = yaml.safe_load(path.read_text())
        if pip_url:
            definition["pip_url"] = str(pip_url)
        copy = defs / path.parent.name / path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(yaml.safe_dump(definition, sort_keys=False))
        definitions[name] = definition

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_", "MELTANO_"))}
    env.update(MELTANO_OFFLINE, PATH=f"{MELTANO.parent}:{env['PATH']}",
               # drains of 10 rows: a later drain's look-up by id would find what an earlier one created in
               # staging, had the stream maps kept the source's ids (a built-in setting of the definition)
               TARGET_MAUTIC_BATCH_SIZE_ROWS="10")
    output = ""
    staging_before = {r["id"]: r for r in staging.query(CONTACT_COLUMNS)}
    for n, cwd in ((0, base), (1, base / "my-project")):
        assert f"DEFS={DEFS_URL}" in bash_block(SECTION, n)
        script = (bash_block(SECTION, n).replace(DEFS_URL, str(defs))
                  .replace("https://staging.mautic.example.com", staging.url)
                  .replace("https://mautic.example.com", source.url)
                  .replace("'the-api-user-password'", f"'{SOURCE_PASSWORD}'")
                  .replace("'the-staging-password'", f"'{STAGING_PASSWORD}'")
                  .replace("api-user", "admin"))
        assert DEFS_URL not in script and "example.com" not in script
        done = run_bash(script, cwd, env)
        output += done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
    return Project(path=base / "my-project", source=source, staging=staging, output=output,
                   staging_before=staging_before, definitions=definitions)


def test_each_definition_adds_exactly_its_plugin(project: Project) -> None:
    added = yaml.safe_load((project.path / "meltano.yml").read_text())["plugins"]
    # `meltano add extractor tap-mautic` would also add a utility called tap-mautic (Meltano 4)
    assert set(added) == {"extractors", "loaders"}
    assert [p["name"] for p in added["extractors"]] == ["tap-mautic"]
    assert [p["name"] for p in added["loaders"]] == ["target-jsonl", "target-mautic"]
    for plugin in added["extractors"] + added["loaders"]:
        definition = {k: v for k, v in project.definitions[plugin["name"]].items() if k not in HUB_ONLY}
        as_added = {k: v for k, v in plugin.items() if k not in ("config", "select")}
        assert _canonical(as_added) == _canonical(definition), plugin["name"]


def _canonical(plugin: dict) -> dict:
    return {k: (sorted(v, key=lambda s: s["name"]) if k == "settings" else v) for k, v in plugin.items()}


def test_the_installed_plugins_accept_what_their_definitions_declare(project: Project) -> None:
    for name in ("tap-mautic", "target-mautic"):
        done = subprocess.run([str(MELTANO), "invoke", name, "--about", "--format", "json"], cwd=project.path,
                              env={**os.environ, **MELTANO_OFFLINE}, capture_output=True, text=True,
                              check=False, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        about = json.loads(done.stdout)
        declared = {s["name"] for s in project.definitions[name]["settings"]}
        assert declared == set(about["settings"]["properties"]) - {"faker_config"}, name
        assert sorted(project.definitions[name]["capabilities"]) == sorted(about["capabilities"])


def test_config_list_shows_the_definitions_defaults(project: Project) -> None:
    done = subprocess.run([str(MELTANO), "config", "list", "tap-mautic", "--all"], cwd=project.path,
                          env={**os.environ, **MELTANO_OFFLINE}, capture_output=True, text=True, check=False,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = {line.split(" ", 1)[0]: line for line in done.stdout.splitlines() if line and line[0] != " "}
    assert "current value: 4 (default)" in lines["max_concurrency"], done.stdout[-3000:]
    assert "stream_maps" in lines and "faker_config" not in lines


def test_secrets_went_to_dot_env_only(project: Project) -> None:
    env_file = (project.path / ".env").read_text()
    assert f"TAP_MAUTIC_PASSWORD='{SOURCE_PASSWORD}'" in env_file
    assert f"TARGET_MAUTIC_PASSWORD='{STAGING_PASSWORD}'" in env_file
    text = (project.path / "meltano.yml").read_text()
    for secret in (SOURCE_PASSWORD, STAGING_PASSWORD):
        assert secret not in text and secret not in project.output
    assert "Plugin configuration is valid" in project.output  # `meltano config test tap-mautic`


def test_tap_mautic_into_jsonl_writes_every_contact_and_company(project: Project) -> None:
    contacts = _jsonl(project.path / "output" / "contacts.jsonl")
    companies = _jsonl(project.path / "output" / "companies.jsonl")
    leads = project.source.query("SELECT id, email, city FROM leads")
    assert len(leads) == 40
    assert {c["id"]: (c["email"], c["city"]) for c in contacts} == {r["id"]: (r["email"], r["city"])
                                                                    for r in leads}
    assert sorted(c["id"] for c in companies) == sorted(r["id"] for r in project.source.query(
        "SELECT id FROM companies"))


def test_target_mautic_copied_the_identified_contacts_and_left_stagings_own_alone(project: Project) -> None:
    source = {r["email"]: r for r in project.source.query(CONTACT_COLUMNS + " WHERE email IS NOT NULL")}
    anonymous = project.source.query("SELECT COUNT(*) AS n FROM leads WHERE email IS NULL")[0]["n"]
    assert source and anonymous  # the seed has both, so the stream map's filter is tested
    after = {r["id"]: r for r in project.staging.query(CONTACT_COLUMNS)}
    # the source's contacts 1-5 did not overwrite staging's own 1-5: the maps dropped the source's ids
    assert {i: after[i] for i in project.staging_before} == project.staging_before
    copied = {r["email"]: r for i, r in after.items() if i not in project.staging_before}

    def person(row: dict) -> tuple:
        return row["firstname"], row["lastname"], row["city"]

    assert {e: person(r) for e, r in copied.items()} == {e: person(r) for e, r in source.items()}
    # companies match by name: staging already had both names, so no second company of either
    names = sorted(r["companyname"] for r in project.source.query("SELECT companyname FROM companies"))
    in_staging = project.staging.query("SELECT companyname FROM companies")
    assert sorted(r["companyname"] for r in in_staging) == names
    results = _jsonl(project.path / "output" / "target-mautic-results.jsonl")
    assert [r["outcome"] for r in results if r["stream"] == "contacts"] == ["created"] * len(source)
    assert [r["outcome"] for r in results if r["stream"] == "companies"] == ["updated"] * len(names)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
