from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.webhooks import selectors, services
from apps.webhooks.api.serializers import (
    CreatedWebhookSerializer,
    DeliverySerializer,
    WebhookChangeSerializer,
    WebhookInputSerializer,
    WebhookSerializer,
)
from loupe.api.inputs import valid
from loupe.api.pages import ByNewest, page


class WebhookListView(APIView):
    resource = "webhooks"
    pagination_class = ByNewest

    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request):
        return page(request, self, selectors.webhooks(), WebhookSerializer)

    @extend_schema(request=WebhookInputSerializer, responses={201: CreatedWebhookSerializer})
    def post(self, request):
        data = valid(WebhookInputSerializer, request.data)
        webhook = services.create_webhook(**data, actor=request.user)
        return Response(CreatedWebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    resource = "webhooks"

    @extend_schema(responses=WebhookSerializer)
    def get(self, request, webhook_id: int):
        return Response(WebhookSerializer(selectors.get_webhook(webhook_id=webhook_id)).data)

    @extend_schema(request=WebhookChangeSerializer(partial=True), responses=WebhookSerializer)
    def patch(self, request, webhook_id: int):
        webhook = selectors.get_webhook(webhook_id=webhook_id)
        data = WebhookChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        webhook = services.update_webhook(
            webhook=webhook, actor=request.user, **data.validated_data
        )
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(responses={204: None})
    def delete(self, request, webhook_id: int):
        services.delete_webhook(
            webhook=selectors.get_webhook(webhook_id=webhook_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(APIView):
    resource = "webhooks"
    pagination_class = ByNewest

    @extend_schema(responses=DeliverySerializer(many=True))
    def get(self, request, webhook_id: int):
        webhook = selectors.get_webhook(webhook_id=webhook_id)
        return page(request, self, selectors.deliveries(webhook=webhook), DeliverySerializer)


class WebhookPingView(APIView):
    resource = "webhooks"

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request, webhook_id: int):
        webhook = selectors.get_webhook(webhook_id=webhook_id)
        delivery = services.ping_webhook(webhook=webhook, actor=request.user)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
