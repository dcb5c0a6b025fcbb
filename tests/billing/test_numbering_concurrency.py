"""Order numbers taken at the same moment by concurrent transactions never collide nor skip."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from billing.models import OrderNumberCounter
from billing.services import order_number_next

WORKERS = 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_signatures_get_distinct_consecutive_numbers() -> None:
    barrier = threading.Barrier(WORKERS)
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def sign() -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                number = order_number_next(year=2031)
            with lock:
                numbers.append(number)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(numbers) == [f"BC-2031-{n:04d}" for n in range(1, WORKERS + 1)]
    assert OrderNumberCounter.objects.get(year=2031).last_number == WORKERS


@pytest.mark.django_db
def test_a_rolled_back_number_is_given_again() -> None:
    def take_then_fail() -> None:
        with transaction.atomic():
            order_number_next(year=2032)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        take_then_fail()
    assert order_number_next(year=2032) == "BC-2032-0001"
