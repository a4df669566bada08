"""The area function again, as one expression Postgres inlines into the generated column,
with polygons in a function of their own: the same values, without a function call per
bbox."""

from django.db import migrations

from tenants.public_ddl import one_schema_at_a_time

CREATE_AREA_FUNCTIONS = """
CREATE OR REPLACE FUNCTION public.loupe_polygon_area(points jsonb)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT abs(sum((a.p->>0)::float8 * (b.p->>1)::float8
               - (b.p->>0)::float8 * (a.p->>1)::float8)) / 2
FROM jsonb_array_elements(points) WITH ORDINALITY AS a(p, i)
JOIN jsonb_array_elements(points) WITH ORDINALITY AS b(p, j)
  ON b.j = a.i % jsonb_array_length(points) + 1
$$;
CREATE OR REPLACE FUNCTION public.loupe_annotation_area(kind text, geometry jsonb)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE kind
    WHEN 'bbox' THEN (geometry->>'w')::float8 * (geometry->>'h')::float8
    WHEN 'polygon' THEN public.loupe_polygon_area(geometry->'points')
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0002_annotation_area"),
    ]

    operations = [
        migrations.RunSQL(
            one_schema_at_a_time(CREATE_AREA_FUNCTIONS), reverse_sql=migrations.RunSQL.noop
        ),
    ]
