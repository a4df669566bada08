"""The area of an annotation, computed by Postgres as a stored generated column.

The database computes it, so every write path (COPY imports, the API, the admin) stores the
same value, and search reads one number in both of its backends. A bbox covers w * h; a
polygon the area its points enclose (the shoelace formula); a whole-image label has none.

The function is created by migrations (0003 is its current form): one plain expression,
which Postgres inlines, so a bbox costs a multiplication rather than a function call per
row; only polygons call the shoelace function, whose subquery cannot be inlined.
"""

from django.db import models

AREA_FUNCTION = "public.loupe_annotation_area"


class AnnotationArea(models.Func):
    function = AREA_FUNCTION
    output_field = models.FloatField()
