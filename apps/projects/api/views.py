from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.projects import selectors, services
from apps.projects.api.serializers import ProjectInputSerializer, ProjectSerializer
from loupe.api.pages import CursorPages, page


class ProjectPagination(CursorPages):
    ordering = ("-created_at", "-id")


class ProjectListView(APIView):
    resource = "projects"
    pagination_class = ProjectPagination

    @extend_schema(responses=ProjectSerializer(many=True))
    def get(self, request):
        return page(request, self, selectors.projects(), ProjectSerializer)

    @extend_schema(request=ProjectInputSerializer, responses={201: ProjectSerializer})
    def post(self, request):
        data = ProjectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.create_project(**data.validated_data, actor=request.user)
        # Read back through the router: after the write it is pinned to the primary.
        project = selectors.get_project(project_id=project.pk)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    resource = "projects"

    @extend_schema(responses=ProjectSerializer)
    def get(self, request, project_id: int):
        return Response(ProjectSerializer(selectors.get_project(project_id=project_id)).data)

    @extend_schema(request=ProjectInputSerializer(partial=True), responses=ProjectSerializer)
    def patch(self, request, project_id: int):
        project = selectors.get_project(project_id=project_id)
        data = ProjectInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        project = services.update_project(
            project=project, actor=request.user, **data.validated_data
        )
        return Response(ProjectSerializer(project).data)

    @extend_schema(responses={204: None})
    def delete(self, request, project_id: int):
        services.delete_project(
            project=selectors.get_project(project_id=project_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
