"""Dashboard routes."""
urlpatterns: list = []
