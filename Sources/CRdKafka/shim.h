#pragma once
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h does not include rdkafka.h itself: keep this order.
#include <librdkafka/rdkafka_mock.h>
