from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("signup/resend/", views.resend, name="resend"),
    path("signup/sent/<str:token>/", views.check_inbox, name="check-inbox"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("email-change/<str:token>/", views.email_change, name="email-change"),
    path("manage/<str:token>/", views.manage, name="manage"),
    path("manage/<str:token>/status/", views.manage_status, name="manage-status"),
    path("manage/<str:token>/email/", views.change_email, name="change-email"),
]
