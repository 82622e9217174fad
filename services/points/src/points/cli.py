from common.cli import ServiceCli
from points.config import SERVICE_DIR


def main() -> int:
    return ServiceCli("points", SERVICE_DIR).run()
