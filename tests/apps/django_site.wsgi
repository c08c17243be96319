# A single-file Django project.
import hashlib
import json

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY='rwsgi-test-secret-key-not-for-production-0123456789',
        ALLOWED_HOSTS=['*'],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[
            'django.middleware.common.CommonMiddleware',
            'django.middleware.csrf.CsrfViewMiddleware',
        ],
        INSTALLED_APPS=['django.contrib.contenttypes'],
        TEMPLATES=[{'BACKEND': 'django.template.backends.django.DjangoTemplates', 'DIRS': [], 'APP_DIRS': False,
                    'OPTIONS': {'context_processors': ['django.template.context_processors.csrf']}}],
        USE_TZ=True,
    )

import django  # noqa: E402
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


def index(request):
    return HttpResponse('django index')


def hello(request, name):
    return HttpResponse('Hello %s' % name)


def url(request):
    return HttpResponse(reverse('hello', args=['x']))


def form(request):
    if request.method == 'POST':
        return HttpResponse('posted: %s' % request.POST.get('value'))
    token = get_token(request)
    return HttpResponse('<form method="post"><input name="csrfmiddlewaretoken" value="%s"></form>' % token)


@csrf_exempt
def json_post(request):
    data = json.loads(request.body)
    return JsonResponse({'received': data, 'total': sum(data.get('numbers', []))})


@csrf_exempt
def upload(request):
    f = request.FILES['file']
    content = f.read()
    return HttpResponse('%s %d %s %s' % (f.name, len(content), hashlib.sha256(content).hexdigest(), request.POST.get('note')))


def go(request):
    return HttpResponseRedirect(reverse('index'))


def stream(request):
    return StreamingHttpResponse(('line %d\n' % i for i in range(5)), content_type='text/plain')


urlpatterns = [
    path('', index, name='index'),
    path('hello/<str:name>/', hello, name='hello'),
    path('url/', url),
    path('form/', form),
    path('json/', json_post),
    path('upload/', upload),
    path('redirect/', go),
    path('stream/', stream),
]

application = get_wsgi_application()
