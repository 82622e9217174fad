from appointments.config import SERVICE_DIR
from common.cli import ServiceCli


def main() -> int:
    return ServiceCli("appointments", SERVICE_DIR).run()
