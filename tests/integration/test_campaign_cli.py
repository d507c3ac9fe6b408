"""`flask loyalty campaigns import|export|preview|initialize|finalize`."""

import json

from loyalty.extensions import db
from loyalty.models import Campaign, Membership
from tests.support.accounts import customer
from tests.support.campaigns import welcome_series


def invoke(runner, *args):
    return runner.invoke(args=["loyalty", "campaigns", *args])


def import_file(runner, scratch_dir, document, slug="trattoria"):
    path = scratch_dir / "campaigns.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return invoke(runner, "import", str(path), "--tenant", slug)


def test_import_reports_every_problem_by_json_path_and_saves_nothing(runner, tenant, scratch_dir):
    broken = welcome_series(id="broken")
    broken["states"][1]["transitionTo"] = "nowhere"
    broken["constraints"][0]["op"] = "ABOUT"
    result = import_file(runner, scratch_dir, [welcome_series(), broken, {"id": "x y"}])
    assert result.exit_code == 1
    assert "[1].states[1].transitionTo:" in result.output
    assert "[1].constraints[0].op:" in result.output
    assert "[2].id:" in result.output
    assert "nothing was saved" in result.output
    assert db.session.query(Campaign).count() == 0


def test_import_upserts_by_id_and_export_gives_the_same_shape_back(runner, tenant, scratch_dir):
    result = import_file(runner, scratch_dir, welcome_series())
    assert result.exit_code == 0, result.output
    assert "1 campaigns created, 0 updated" in result.output
    renamed = welcome_series(name="Welcome again")
    assert "0 campaigns created, 1 updated" in import_file(runner, scratch_dir, [renamed]).output
    exported = invoke(runner, "export", "--tenant", "trattoria", "welcome")
    assert exported.exit_code == 0, exported.output
    [campaign] = json.loads(exported.output)
    assert campaign["name"] == "Welcome again" and campaign["initialized"] is False
    assert campaign["states"][0]["codePrefix"] == "NEW"
    # What export wrote imports again unchanged.
    assert import_file(runner, scratch_dir, [campaign]).exit_code == 0


def test_preview_initialize_and_finalize(runner, tenant, scratch_dir):
    for number in range(3):
        customer(tenant, external_id=f"guest-{number}")
    import_file(runner, scratch_dir, welcome_series())
    previewed = invoke(runner, "preview", "welcome", "--tenant", "trattoria")
    assert previewed.exit_code == 0, previewed.output
    assert json.loads(previewed.stdout) == {
        "cnt": 3,
        "samples": ["guest-0", "guest-1", "guest-2"],
    }
    started = invoke(runner, "initialize", "welcome", "--tenant", "trattoria")
    assert started.exit_code == 0, started.output
    assert "welcome is running with 3 members" in started.output
    assert db.session.query(Membership).count() == 3
    again = invoke(runner, "initialize", "welcome", "--tenant", "trattoria")
    assert again.exit_code == 1 and "campaign: is already running" in again.output
    ended = invoke(runner, "finalize", "welcome", "--tenant", "trattoria")
    assert ended.exit_code == 0 and "welcome finalised at" in ended.output


def test_clear_errors_for_unknown_tenants_campaigns_and_incomplete_drafts(
    runner, tenant, scratch_dir
):
    assert "no tenant 'nope'" in invoke(runner, "export", "--tenant", "nope").output
    unknown = invoke(runner, "preview", "ghost", "--tenant", "trattoria")
    assert unknown.exit_code == 1 and "no campaign 'ghost'" in unknown.output
    import_file(runner, scratch_dir, {"id": "draft", "type": "STANDARD"})
    refused = invoke(runner, "initialize", "draft", "--tenant", "trattoria")
    assert refused.exit_code == 1
    assert "states:" in refused.output and "cannot be initialised" in refused.output
    assert "not valid JSON" in import_file(runner, scratch_dir, "{oops").output
    assert invoke(runner, "import", "--help").exit_code == 0
