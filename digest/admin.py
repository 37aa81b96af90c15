"""Django's admin autodiscovery imports this module; the admin of editions, papers, deliveries
and the digest side of the subscriber admin live with the rest of the staff side."""

from digest.staff import admin as staff_admin  # noqa: F401
