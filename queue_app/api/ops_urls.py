"""Operations routes under /api/ (queues, autoscaling)."""
urlpatterns: list = []
