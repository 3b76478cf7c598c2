// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for UMC's "umc/i18n" AMD plugin (management/univention-web/js/i18n.js, UCS 5.x).
// "umc/i18n!scope1,scope2" loads require.toUrl("<path>/i18n/<lang>/<name>.json") for each
// scope plus umc/branding and umc/app, the language being dojo.locale without territory;
// a missing file counts as empty. The value is _(msg, args...): the first scope's
// translation, formatted with dojox/string/sprintf. Also _.ngettext(id, idPlural, n, ...)
// (n is passed to sprintf only when the message has a placeholder left for it), _.inverse,
// _.load.
/*global define, require, console*/
define([
	"dojo/_base/lang",
	"dojo/_base/array",
	"dojo/_base/kernel",
	"dojo/request",
	"dojo/promise/all",
	"dojo/json",
	"dojo/Deferred",
	"dojox/string/sprintf"
], function(lang, array, kernel, request, all, json, Deferred, sprintf) {
	var cache = {};

	var language = function() {
		var match = /^([a-z]{2,3})/i.exec(kernel.locale || 'en');
		return (match ? match[1] : 'en').toLowerCase();
	};

	var scopePath = function(lang_, scope) {
		var slash = scope.lastIndexOf('/');
		var dir = slash === -1 ? '' : scope.slice(0, slash);
		var name = scope.slice(slash + 1);
		return (dir ? dir + '/' : '') + 'i18n/' + lang_ + '/' + name + '.json';
	};

	var get = function(lang_, scope) {
		var key = lang_ + ':' + scope;
		if (!cache[key]) {
			var deferred = new Deferred();
			cache[key] = deferred;
			request(require.toUrl(scopePath(lang_, scope))).then(function(text) {
				cache[key] = text ? json.parse(text) : {};
				deferred.resolve(cache[key]);
			}, function() {
				console.log('INFO: Localization files for scope "' + scope + '" in language "' + lang_ + '" not available!');
				cache[key] = {};
				deferred.resolve({});
			});
		}
		return cache[key];
	};

	var catalogue = function(scope) {
		var data = get(language(), scope);
		return data instanceof Deferred ? {} : data;
	};

	return {
		load: function(params, req, load) {
			var scopes = array.filter(params.split(/\s*,\s*/).concat(['umc/branding', 'umc/app']), function(scope) {
				return scope;
			});

			var translate = function(msg) {
				for (var i = 0; i < scopes.length; ++i) {
					var found = catalogue(scopes[i])[msg];
					if (found && typeof found === 'string') {
						msg = found;
						break;
					}
				}
				var args = [msg].concat(Array.prototype.slice.call(arguments, 1));
				try {
					return sprintf.apply(null, args);
				} catch (err) {
					console.warn(err);
					return msg;
				}
			};

			translate.ngettext = function(id, idPlural, n) {
				var msg = n === 1 ? id : idPlural;
				for (var i = 0; i < scopes.length; ++i) {
					var data = catalogue(scopes[i]);
					if (data[id] instanceof Array && data[id].length) {
						var plural;
						try {
							plural = Function('n', '"use strict";return ' + data.$plural$ + ';')(n);
						} catch (exc) {
							plural = 1;
						}
						if (typeof plural === 'boolean') {
							plural = plural ? 1 : 0;
						}
						msg = data[id][plural];
						break;
					}
				}
				// As the original: n is left out of sprintf's arguments when more arguments
				// follow it than the message has placeholders (and no "%1$" says otherwise).
				var placeholders = (msg.match(/(^|[^%])%[^%]/g) || []).length;
				var first = idPlural.search(/(^|[^%])%1\$/) === -1 && arguments.length - 2 > placeholders ? 3 : 2;
				return sprintf.apply(null, [msg].concat(Array.prototype.slice.call(arguments, first)));
			};

			translate.inverse = function(localized) {
				for (var i = 0; i < scopes.length; ++i) {
					var data = catalogue(scopes[i]);
					for (var key in data) {
						if (data.hasOwnProperty(key) && data[key] === localized) {
							return key;
						}
					}
				}
				return localized;
			};

			translate.load = function() {
				return all(array.map(scopes, function(scope) {
					return get(language(), scope);
				}));
			};

			translate.scopes = scopes;
			translate.load().then(function() {
				load(translate);
			});
		}
	};
});
