from fastapi import APIRouter

router = APIRouter(prefix="/matching", tags=["matching"])
