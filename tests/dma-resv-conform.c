// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conformance traces of dma-resv (first cut: the harness only).
 */

#include <kunit/test.h>
#include <linux/dma-resv.h>
#include <linux/module.h>

#include "conform.h"

static void conform_resv_init(struct kunit *test)
{
	struct conform *c = conform_init(test);
	struct dma_resv obj;

	dma_resv_init(&obj);
	conform_add(c, "init test_signaled=%d ret=",
		    dma_resv_test_signaled(&obj, DMA_RESV_USAGE_BOOKKEEP));
	conform_add_ret(c, -EINVAL);
	conform_emit(c);
	dma_resv_fini(&obj);
}

static struct kunit_case dma_resv_conform_cases[] = {
	KUNIT_CASE(conform_resv_init),
	{}
};

static struct kunit_suite dma_resv_conform_suite = {
	.name = "dma_resv_conform",
	.test_cases = dma_resv_conform_cases,
};

kunit_test_suite(dma_resv_conform_suite);

MODULE_DESCRIPTION("Conformance traces of dma-resv");
MODULE_LICENSE("GPL");
