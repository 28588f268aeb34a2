from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from blog.sitemaps import ArticleSitemap, TagSitemap

from . import views

sitemaps = {"articles": ArticleSitemap, "tags": TagSitemap}

urlpatterns = [
    path("admin/", admin.site.urls),
    # markdownx's own views check no login (CVE-2024-2319); blog.editor replaces them.
    path("markdownx/", include("blog.editor")),
    path("sitemap.xml", sitemap, {"sitemaps": sitemaps}, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("healthz", views.healthz, name="healthz"),
    # Before blog's routes: both live under articles/<slug>/.
    path("", include("comments.urls")),
    path("", include("blog.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
