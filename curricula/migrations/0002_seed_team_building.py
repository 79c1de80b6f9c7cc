"""The team-building curriculum CLGBT runs for its own members. Admins can change it later."""

from tortoise import migrations
from tortoise.migrations import operations as ops

CURRICULUM = ("team_building", "Team-building curriculum", "កម្មវិធីសិក្សាការកសាងក្រុម")

# position, English, Khmer, topic code, prerequisites (by position)
MODULES = [
    (1, "Team building training", "វគ្គបណ្តុះបណ្តាលការកសាងក្រុម", "team_building", ()),
    (2, "SOGIE training", "វគ្គបណ្តុះបណ្តាល SOGIE", "sogie", (1,)),
    (3, "Human rights training", "វគ្គបណ្តុះបណ្តាលសិទ្ធិមនុស្ស", "human_rights", (1,)),
    (4, "LGBT problem analysis training", "វគ្គបណ្តុះបណ្តាលការវិភាគបញ្ហា LGBT", "problem_analysis", (2, 3)),
    (5, "Problem solving", "ការដោះស្រាយបញ្ហា", "problem_solving", (4,)),
]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_CURRICULUM_ID = f"(SELECT id FROM curriculum WHERE code = {_quoted(CURRICULUM[0])})"


def _module_id(position: int) -> str:
    return f"(SELECT id FROM module WHERE curriculum_id = {_CURRICULUM_ID} AND position = {position})"


def _statements() -> list[str]:
    code, en, km = CURRICULUM
    statements = [
        "INSERT INTO curriculum (code, name_en, name_km, created_at) VALUES "
        f"({_quoted(code)}, {_quoted(en)}, {_quoted(km)}, CURRENT_TIMESTAMP)"
    ]
    for position, name_en, name_km, _topic, _requires in MODULES:
        statements.append(
            "INSERT INTO module (curriculum_id, position, name_en, name_km) VALUES "
            f"({_CURRICULUM_ID}, {position}, {_quoted(name_en)}, {_quoted(name_km)})"
        )
    for position, _en, _km, topic, requires in MODULES:
        statements.append(
            "INSERT INTO module_topic (module_id, topic_id) VALUES "
            f"({_module_id(position)}, (SELECT id FROM topic WHERE code = {_quoted(topic)}))"
        )
        for required in requires:
            statements.append(
                "INSERT INTO module_prerequisite (module_id, prerequisite_id) VALUES "
                f"({_module_id(position)}, {_module_id(required)})"
            )
    return statements


class Migration(migrations.Migration):
    dependencies = [("curricula", "0001_initial"), ("events", "0002_seed_topics")]

    operations = [
        ops.RunSQL(
            _statements(),
            reverse_sql=[
                f"DELETE FROM module_prerequisite WHERE module_id IN (SELECT id FROM module WHERE curriculum_id = {_CURRICULUM_ID})",
                f"DELETE FROM module_topic WHERE module_id IN (SELECT id FROM module WHERE curriculum_id = {_CURRICULUM_ID})",
                f"DELETE FROM module WHERE curriculum_id = {_CURRICULUM_ID}",
                f"DELETE FROM curriculum WHERE code = {_quoted(CURRICULUM[0])}",
            ],
        )
    ]
