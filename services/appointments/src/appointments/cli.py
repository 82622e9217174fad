from common.cli import ServiceCli
from appointments.config import SERVICE_DIR


def main() -> int:
    return ServiceCli("appointments", SERVICE_DIR).run()
