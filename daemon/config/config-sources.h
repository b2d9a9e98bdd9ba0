/* SPDX-License-Identifier: MIT */
/* The [aws] regions and the [source.NAME] sections: reading them and resolving the list of
 * sources (cj_settings.sources). Private to the config module. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define CJ_SOURCE_SECTION_PREFIX       "source."
#define CJ_SOURCE_DEFAULT_SESSION_NAME "copyjobd"

/* One key of section "source.NAME", on `line` of `file`: checked and stored into the source
 * NAME (created at its first key). -EINVAL with reason ("[source.NAME] key: why") for an
 * invalid name, an unknown key, a key set twice or a bad value; -ENOMEM. */
int config_source_key(struct cj_settings *s, const char *file, const char *section,
                      const char *name, const char *value, unsigned line, char *reason,
                      size_t reasonlen);

/* "us-east-1, eu-west-1": a NULL-terminated owned list, NULL for an empty value. -EINVAL with
 * reason for a name that is not a region, a region named twice, or a stray comma. */
int config_regions_parse(const char *value, char ***ret, char *reason, size_t reasonlen);
void config_regions_free(char **regions);

/* Turns the [source.NAME] sections read so far into the effective list: the [aws] sources
 * first (one per region of aws.regions, else aws.region; their endpoint is aws_endpoint when
 * the file or the environment gave one), then the sections, with defaults filled in
 * (profile from [aws], session name, the endpoint from env_endpoint or the region's). Refuses,
 * with err naming file, line and key: no source at all, a section without region, external_id
 * without role_arn, two sources of one name, two that are the same account and region by the
 * configuration (same region and role account, or same region and profile without a role). */
int config_sources_resolve(struct cj_settings *s, const char *aws_endpoint,
                           const char *env_endpoint, char *err, size_t errlen);
/* https://bedrock.REGION.amazonaws.com (.com.cn in China), owned. */
int config_default_endpoint(const char *region, char **ret);
/* Prints each source as a [source.NAME] section; external_id as "(set)". */
void config_sources_dump(const struct cj_settings *s, FILE *f);
void config_source_done(struct cj_source_settings *src);
