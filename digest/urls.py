from django.urls import path

from digest.views import feedback
from subscriptions.views import link_not_built

app_name = "digest"

urlpatterns = [
    path("feedback/<str:token>/", feedback, name="feedback"),
    # Routed now so emails can link to it; issue 5 builds the page.
    path("digest/<str:token>/", link_not_built, name="web-view"),
]
