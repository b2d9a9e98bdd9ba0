/* SPDX-License-Identifier: MIT */
/* Local checks of what the user typed, against Bedrock's own constraints (service-2.json),
 * so a mistake is explained before anything is sent. */
#pragma once

#include <stdbool.h>

bool ctl_valid_account_id(const char *s);         /* [0-9]{12} */
bool ctl_valid_model_name_part(const char *s);    /* ([0-9a-zA-Z][_-]?){1,63} */
bool ctl_valid_model_arn(const char *s);          /* ModelArn */
bool ctl_valid_model_copy_job_arn(const char *s); /* ModelCopyJobArn */
