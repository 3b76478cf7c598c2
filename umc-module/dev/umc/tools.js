// SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
// SPDX-License-Identifier: AGPL-3.0-only
// Stand-in for "umc/tools" (management/univention-web/js/tools.js, UCS 5.x), the parts a
// module uses: status, getCookies, umcpCommand (POST /univention/command/<cmd> with
// {options, flavor}, the X-XSRF-Protection header taken from the UMCSessionId cookie, the
// default error dialogs), umcpProgressCommand (polling <cmd>/../progress), parseError,
// forIn, isTrue. Left out: login and session handling, long polling, traceback reporting.
/*global define, require, document, setTimeout*/
define([
	"dojo/_base/lang",
	"dojo/_base/array",
	"dojo/_base/kernel",
	"dojo/request/xhr",
	"dojo/Deferred",
	"dojo/json",
	"dojo/cookie",
	"dojox/html/entities",
	"umc/i18n!"
], function(lang, array, kernel, xhr, Deferred, json, cookie, entities, _) {
	// umc/dialog needs umc/tools: load it later, as the original does
	var dialog = {
		alert: function() {},
		notify: function() {}
	};
	require(['umc/dialog'], function(_dialog) {
		dialog = _dialog;
	});

	var tools = {
		_status: {
			username: null,
			hostname: '',
			domainname: ''
		},

		status: function(key, value) {
			if (key === undefined) {
				return this._status;
			}
			if (value === undefined) {
				return this._status[key];
			}
			this._status[key] = value;
			return undefined;
		},

		getCookies: function() {
			return {
				sessionID: cookie('UMCSessionId-' + document.location.port) || cookie('UMCSessionId'),
				username: cookie('UMCUsername-' + document.location.port) || cookie('UMCUsername')
			};
		},

		isTrue: function(input) {
			if (typeof input === 'string') {
				return array.indexOf(['yes', 'true', '1', 'enable', 'enabled', 'on'], input.toLowerCase()) !== -1;
			}
			return Boolean(input);
		},

		forIn: function(obj, callback, scope) {
			for (var key in obj) {
				if (obj.hasOwnProperty(key)) {
					if (callback.call(scope || this, key, obj[key], obj) === false) {
						break;
					}
				}
			}
		},

		umcpCommand: function(command, dataObj, handleErrors, flavor, longPollingOptions, args) {
			if (!(/^(get\/|set$|auth|logout(\/|$)|saml(\/|$))/i).test(command)) {
				command = 'command/' + command;
			}
			var body = {options: dataObj || {}};
			if (typeof flavor === 'string') {
				body.flavor = flavor;
			}
			var errorHandler = this.__getErrorHandler(handleErrors);
			var call = xhr.post('/univention/' + command, {
				data: json.stringify(body),
				handleAs: 'json',
				headers: lang.mixin({
					'Accept-Language': kernel.locale,
					'Accept': 'application/json; q=1.0, text/html; q=0.3; */*; q=0.1',
					'X-XSRF-Protection': this.getCookies().sessionID,
					'Content-Type': 'application/json'
				}, (args || {}).headers)
			});
			return call.then(function(data) {
				errorHandler.success(data);
				return data;
			}, function(error) {
				var info = tools.parseError(error);
				info.exception = error;
				errorHandler.error(info);
				throw error;
			});
		},

		__getErrorHandler: function(handleErrors) {
			var custom = {};
			if (handleErrors === false) {
				custom = {displayErrors: false, displayMessages: false};
			} else if (handleErrors && handleErrors.onValidationError) {
				custom = {
					display422: function(info) {
						handleErrors.onValidationError(info.message, info.result);
					}
				};
			} else if (typeof handleErrors === 'object' && handleErrors) {
				custom = handleErrors;
			}
			return lang.mixin({
				displayMessages: true,
				displayErrors: true,

				display422: function(info) {
					var message = entities.encode(info.message) + ':<br>';
					var format = function(result) {
						message += '<ul>';
						tools.forIn(result, function(key, value) {
							if (value && typeof value === 'object') {
								message += '<li>' + entities.encode(key);
								format(value);
								message += '</li>';
								return;
							}
							message += '<li>' + entities.encode(key) + ': ' + entities.encode(String(value)) + '</li>';
						});
						message += '</ul>';
					};
					format(info.result);
					dialog.alert(message, tools._statusMessages[info.status]);
				},

				success: function(data) {
					if (this.displayMessages && data && data.message) {
						if (parseInt(data.status, 10) === 200) {
							dialog.notify(entities.encode(data.message));
						} else {
							dialog.alert(entities.encode(data.message));
						}
					}
				},

				error: function(info) {
					this.displayError(info);
					if (this[info.status]) {
						return this[info.status](info);
					}
				},

				displayError: function(info) {
					if (!this.displayErrors) {
						return;
					}
					if (this['display' + info.status]) {
						this['display' + info.status](info);
						return;
					}
					var message = info.message;
					if (info.traceback) {
						dialog.alert('<p>' + entities.encode(info.title || '') + '</p><pre class="umcTraceback">' +
							entities.encode(info.traceback + ' ' + message) + '</pre>', _('An error occurred'));
					} else if (info.title) {
						dialog.alert('<p>' + entities.encode(info.title) + '</p>' + (message ? '<p>' +
							_('Server error message:') + '</p><p class="umcServerErrorMessage">' +
							entities.encode(message).replace(/\n/g, '<br/>') + '</p>' : ''), _('An error occurred'));
					} else if (info.status) {
						dialog.alert(_('An unknown error with status code %s occurred while connecting to the server, please try again later.', info.status));
					} else {
						dialog.alert(_('An error occurred while connecting to the server, please try again later.'));
					}
				}
			}, custom);
		},

		umcpProgressCommand: function(progressBar, commandStr, dataObj, handleErrors, flavor, longPollingOptions) {
			var cancelled = false;
			var deferred = new Deferred(function() {
				cancelled = true;
			});
			this.umcpCommand(commandStr, dataObj, handleErrors, flavor, longPollingOptions).then(lang.hitch(this, function(data) {
				var progressID = data.result.id;
				progressBar.setInfo(data.result.title);
				var allData = [];
				var location = data.result.location || commandStr.slice(0, commandStr.lastIndexOf('/')) + '/progress';
				var poll = lang.hitch(this, function(retryAfter) {
					setTimeout(lang.hitch(this, function() {
						if (cancelled) {
							return;
						}
						this.umcpCommand(location, {progress_id: progressID}, undefined, flavor).then(function(reply) {
							var result = reply.result;
							allData = allData.concat(result.intermediate || []);
							if (result.percentage === 'Infinity') {
								result.percentage = Infinity;
							}
							progressBar.setInfo(result.title, result.message, result.percentage);
							deferred.progress(result);
							if ('result' in result) {
								deferred.resolve(result.result);
							} else if (result.finished) {
								deferred.resolve(allData);
							} else {
								poll(result.retry_after);
							}
						}, function(error) {
							deferred.reject(tools.parseError(error));
						});
					}), retryAfter === undefined ? 200 : retryAfter);
				});
				poll(data.result.retry_after);
			}), function(error) {
				deferred.reject(tools.parseError(error));
			});
			return deferred;
		},

		_statusMessages: {
			400: _('Could not fulfill the request.'),
			401: _('Your session has expired, please login again.'),
			403: _('You are not authorized to perform this action.'),
			404: _('Webfrontend error: The specified request is unknown.'),
			406: _('Webfrontend error: The specified UMCP command arguments of the request are invalid.'),
			422: _('Validation error'),
			500: _('Internal server error.'),
			503: _('Internal server error: The service is temporarily not available.'),
			591: _('Could not process the request.')
		},

		parseError: function(error) {
			var status = error.status !== undefined ? error.status : -1;
			var message = '';
			var result = null;
			var traceback = null;
			if (error.response) {
				status = error.response.status !== undefined ? error.response.status : status;
				var data = error.response.data;
				if (data && typeof data === 'object') {
					status = parseInt(data.status, 10) || status;
					message = data.message || '';
					result = data.result || null;
					traceback = data.traceback || null;
				}
			} else if (error.message && error.status) {
				message = error.message;
				result = error.result || null;
			}
			return {
				status: status,
				title: this._statusMessages[status] || '',
				message: message,
				traceback: traceback,
				result: result
			};
		}
	};
	return tools;
});
