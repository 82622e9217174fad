from fastapi import APIRouter

router = APIRouter(prefix="/occupancy", tags=["occupancy"])
