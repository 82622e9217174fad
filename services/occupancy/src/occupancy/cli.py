from common.cli import ServiceCli
from occupancy.config import SERVICE_DIR


def main() -> int:
    return ServiceCli("occupancy", SERVICE_DIR).run()
