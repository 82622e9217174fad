from common.cli import ServiceCli
from customers.config import SERVICE_DIR


def main() -> int:
    return ServiceCli("customers", SERVICE_DIR).run()
