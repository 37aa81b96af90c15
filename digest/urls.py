from django.urls import path

from subscriptions.views import link_not_built

app_name = "digest"

urlpatterns = [
    # Routed now so emails can link to them; issues 4 (feedback) and 5 (web view) build the pages.
    path("feedback/<str:token>/", link_not_built, name="feedback"),
    path("digest/<str:token>/", link_not_built, name="web-view"),
]
