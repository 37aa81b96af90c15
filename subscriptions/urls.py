from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    # Routed now so every part can link to them; issue 3 builds the pages (link_not_built answers 404).
    path("confirm/<str:token>/", views.link_not_built, name="confirm"),
    path("email-change/<str:token>/", views.link_not_built, name="email-change"),
    path("manage/<str:token>/", views.link_not_built, name="manage"),
    path("feed/<str:token>/", views.link_not_built, name="feed"),
]
