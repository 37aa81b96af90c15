from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
