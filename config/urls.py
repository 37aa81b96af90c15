from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from digest.staff import health
from subscriptions import views as subscription_views

urlpatterns = [
    path("", subscription_views.home, name="home"),  # the signup page
    path("", include("subscriptions.urls")),
    path("", include("digest.urls")),
    path("healthz", health.healthz, name="healthz"),  # no trailing slash: probes don't follow redirects
    path(settings.PAPERBOY_ADMIN_URL, admin.site.urls),  # with the staff dashboard (digest/staff/site.py)
]

if settings.DEBUG:
    # The local mail catcher's inbox, for `make run` only (never routed in production).
    from digest.devtools import mailcatcher

    urlpatterns += [
        path("dev/mail/", mailcatcher.inbox, name="dev-mail"),
        path("dev/mail/<str:name>/", mailcatcher.message, name="dev-mail-message"),
        path("dev/mail/<str:name>/html/", mailcatcher.message_html, name="dev-mail-html"),
    ]
