from django.urls import path

from digest import email_pages
from subscriptions.views import link_not_built

app_name = "digest"

urlpatterns = [
    # Routed now so emails can link to it; issue 4 (feedback) builds the page.
    path("feedback/<str:token>/", link_not_built, name="feedback"),
    path("digest/<str:token>/", email_pages.web_view, name="web-view"),
    path("staff/preview/", email_pages.staff_preview, name="staff-preview"),
]
