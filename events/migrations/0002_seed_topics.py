"""The five topics CLGBT trains on. Admins can rename or hide them afterwards."""

from tortoise import migrations
from tortoise.migrations import operations as ops

TOPICS = [
    ("sogie", "SOGIE", "SOGIE (ទំនោរផ្លូវភេទ អត្តសញ្ញាណយេនឌ័រ និងការបញ្ចេញភេទ)", 1),
    ("human_rights", "Human rights", "សិទ្ធិមនុស្ស", 2),
    ("problem_analysis", "LGBT problem analysis", "ការវិភាគបញ្ហា LGBT", 3),
    ("team_building", "Team building", "ការកសាងក្រុម", 4),
    ("problem_solving", "Problem solving", "ការដោះស្រាយបញ្ហា", 5),
]



def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [
        ops.RunSQL(
            [
                "INSERT INTO topic (code, name_en, name_km, position, is_active) VALUES "
                f"({_quoted(code)}, {_quoted(en)}, {_quoted(km)}, {position}, TRUE)"
                for code, en, km, position in TOPICS
            ],
            reverse_sql=[f"DELETE FROM topic WHERE code = {_quoted(t[0])}" for t in TOPICS],
        )
    ]
