// SPDX-License-Identifier: GPL-2.0-only
/*
 * Placeholder for the dma-buf half of the conformance scenarios, so that
 * the conformance option builds; helper "bufconf" replaces it.
 */

#include <kunit/test.h>
#include <linux/module.h>

#include "conform.h"

static void conform_buf_placeholder(struct kunit *test)
{
	struct conform *c = conform_init(test);

	conform_trace(c, "placeholder");
}

static struct kunit_case dma_buf_conform_cases[] = {
	KUNIT_CASE(conform_buf_placeholder),
	{}
};

static struct kunit_suite dma_buf_conform_suite = {
	.name = "dma_buf_conform",
	.test_cases = dma_buf_conform_cases,
};

kunit_test_suite(dma_buf_conform_suite);

MODULE_DESCRIPTION("Conformance traces of dma-buf (placeholder)");
MODULE_LICENSE("GPL");
