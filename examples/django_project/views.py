from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return HttpResponse("Hello from Django", content_type="text/plain")


def json_view(request):
    return JsonResponse({"message": "hello", "method": request.method, "query": request.GET.dict()})


@csrf_exempt
def form(request):
    # GET shows the query, POST parses a urlencoded or multipart body.
    if request.method != "POST":
        return JsonResponse({"method": request.method, "query": request.GET.dict()})
    return JsonResponse({"method": "POST", "form": request.POST.dict(), "body_length": len(request.body)})


def item(request, item_id):
    return JsonResponse({"item_id": item_id})
