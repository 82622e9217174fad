from fastapi import APIRouter

router = APIRouter(prefix="/points", tags=["points"])
