"""The API's routers, one module per resource; each has ``build_router(settings) -> APIRouter``."""
