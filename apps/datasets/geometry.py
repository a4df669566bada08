"""The area of an annotation, computed by Postgres as a stored generated column.

The database computes it, so every write path (COPY imports, the API, the admin) stores the
same value, and search reads one number in both of its backends. A bbox covers w * h; a
polygon the area its points enclose (the shoelace formula); a whole-image label has none.

The column's function is one plain expression, which Postgres inlines: a bbox costs a
multiplication, not a function call per row. Only polygons call the shoelace function,
whose subquery cannot be inlined.
"""

from django.db import models

AREA_FUNCTION = "public.loupe_annotation_area"
POLYGON_AREA_FUNCTION = "public.loupe_polygon_area"

CREATE_AREA_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {POLYGON_AREA_FUNCTION}(points jsonb)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT abs(sum((a.p->>0)::float8 * (b.p->>1)::float8
               - (b.p->>0)::float8 * (a.p->>1)::float8)) / 2
FROM jsonb_array_elements(points) WITH ORDINALITY AS a(p, i)
JOIN jsonb_array_elements(points) WITH ORDINALITY AS b(p, j)
  ON b.j = a.i % jsonb_array_length(points) + 1
$$;
CREATE OR REPLACE FUNCTION {AREA_FUNCTION}(kind text, geometry jsonb)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE kind
    WHEN 'bbox' THEN (geometry->>'w')::float8 * (geometry->>'h')::float8
    WHEN 'polygon' THEN {POLYGON_AREA_FUNCTION}(geometry->'points')
END
$$
"""


class AnnotationArea(models.Func):
    function = AREA_FUNCTION
    output_field = models.FloatField()
