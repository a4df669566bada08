"""The area function again, as one inlinable expression with polygons in a function of their
own: the same values, computed without a function call per bbox."""

from django.db import migrations

import apps.datasets.geometry


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0002_annotation_area"),
    ]

    operations = [
        migrations.RunSQL(
            apps.datasets.geometry.CREATE_AREA_FUNCTION,
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
