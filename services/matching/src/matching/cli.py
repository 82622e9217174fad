from common.cli import ServiceCli
from matching.config import SERVICE_DIR


def main() -> int:
    return ServiceCli("matching", SERVICE_DIR).run()
