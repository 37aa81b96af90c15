from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from subscriptions import views as subscription_views

admin.site.site_header = "Paperboy staff"
admin.site.site_title = "Paperboy staff"
admin.site.index_title = "Editions, deliveries and subscribers"

urlpatterns = [
    path("", subscription_views.home, name="home"),  # the signup page
    path("", include("subscriptions.urls")),
    path("", include("digest.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    # The local mail catcher's inbox, for `make run` only (never routed in production).
    from digest import mailcatcher

    urlpatterns += [
        path("dev/mail/", mailcatcher.inbox, name="dev-mail"),
        path("dev/mail/<str:name>/", mailcatcher.message, name="dev-mail-message"),
        path("dev/mail/<str:name>/html/", mailcatcher.message_html, name="dev-mail-html"),
    ]
